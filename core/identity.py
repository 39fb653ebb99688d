"""Identity keys: the one normalization under which two names, e-mails, SKUs or codes are "the same".

`identity_key(text)` is Unicode NFKC, then the confusables skeleton of every non-ASCII letter (Unicode
TR39's data, through the maintained `confusable-homoglyphs` package: Cyrillic `а` is `a`, Greek `Ο` is
`O`), then case folding (the Unicode "NFKC_Casefold" recipe), without format characters (category Cf,
invisible: soft hyphen, zero-width space, word joiner), stripped. So `ＢＯＬＴ-1` (fullwidth), `bolt-1`,
`BOLT-1`, `ВОLТ-1` (Cyrillic) and `BOLT-1` with a zero-width space share one key, and `É`/`é` do on every
database (SQLite's LOWER folds ASCII only). ASCII characters are never mapped (`1` and `l`, `0` and `O`
stay distinct: SKUs use them on purpose). Each model that holds such an identifier stores the key in an
indexed column with a UNIQUE constraint (`IdentityKeysMixin` fills it on `save()` and `bulk_create`),
and every "is it taken?" check compares keys.

Input identifiers are also refused outright (`check_identifier`) when they hold a format character or
mix Latin with Cyrillic or Greek letters, on every path that creates one: the API's serializers, the
CSV import, the admin (`clean()`) and `save()` itself (commands, scripts).
"""

import functools
import unicodedata

from confusable_homoglyphs.confusables import confusables_data
from django.core.exceptions import ValidationError
from django.db import models

# Scripts whose letters are commonly confused with each other (homoglyphs).
CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def identity_key(text: str | None) -> str:
    """NFKC, skeleton of non-ASCII look-alikes, case-folded, NFKC again, format characters dropped, stripped."""
    if not text:
        return ""
    skeleton = _skeleton_map()
    visible = (char for char in unicodedata.normalize("NFKC", text) if unicodedata.category(char) != "Cf")
    mapped = "".join(char if char.isascii() else skeleton.get(char, char) for char in visible)
    folded = unicodedata.normalize("NFKC", mapped.casefold())
    return "".join(char for char in folded if unicodedata.category(char) != "Cf").strip()


@functools.cache
def _skeleton_map() -> dict[str, str]:
    """Non-ASCII character → the ASCII text it is confusable with (TR39 confusables, via confusable-homoglyphs).

    The package stores each confusable pair in both directions; a class is a connected group, and its
    representative is an ASCII member (letters before other characters, lower case first, then shortest),
    so every look-alike of `a` maps to `a`. Classes with no ASCII member map nothing.
    """
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def clean(value: str) -> str:
        return value.replace("\u200e", "").replace("\u200f", "")

    for key, homoglyphs in confusables_data.items():
        for homoglyph in homoglyphs:
            parent[find(clean(key))] = find(clean(homoglyph["c"]))
    classes: dict[str, list[str]] = {}
    for node in list(parent):
        classes.setdefault(find(node), []).append(node)
    mapping = {}
    for members in classes.values():
        ascii_members = [m for m in members if m.isascii() and m.isprintable()]
        if not ascii_members:
            continue
        representative = min(ascii_members, key=lambda m: (not m.isalpha(), not m.islower(), len(m), m))
        for member in members:
            if len(member) == 1 and not member.isascii():
                mapping[member] = representative
    return mapping


def scripts_of(text: str) -> set[str]:
    """The confusable scripts (LATIN, CYRILLIC, GREEK) whose letters appear in `text` (after NFKC)."""
    found = set()
    for char in unicodedata.normalize("NFKC", text or ""):
        if not char.isalpha():
            continue
        script = unicodedata.name(char, "").split(" ", 1)[0]
        if script in CONFUSABLE_SCRIPTS:
            found.add(script)
    return found


def refuse_format_characters(text: str) -> str:
    """`text` unchanged, or a ValidationError when it holds an invisible format character (category Cf)."""
    found = sorted({f"U+{ord(char):04X}" for char in text or "" if unicodedata.category(char) == "Cf"})
    if found:
        raise ValidationError(f"Contains invisible characters ({', '.join(found)}); remove them.",
                              code="format_characters")
    return text


def check_identifier(text: str) -> str:
    """The identity rule of every path that creates an identifier: no format characters, no mixed scripts."""
    return refuse_mixed_scripts(refuse_format_characters(text))


def refuse_mixed_scripts(text: str) -> str:
    """`text` unchanged, or a ValidationError when it mixes Latin, Cyrillic or Greek letters."""
    scripts = scripts_of(text)
    if len(scripts) > 1:
        names = " and ".join(sorted(script.capitalize() for script in scripts))
        raise ValidationError(f"Mixes {names} letters; use letters of one script only.", code="mixed_scripts")
    return text


class IdentityKeysMixin:
    """For models with identity-key columns: `IDENTITY_KEYS = {"code_key": "code"}` (key field → source).

    `save()` fills each key from its source (also when `update_fields` names the source), so the admin,
    the services, the factories and fixtures all agree. `QuerySet.update()` does not: change these
    fields through `save()`. `clean()` turns a taken key into a field error, so model forms (the
    admin) answer with the form instead of the database's IntegrityError.
    """

    IDENTITY_KEYS: dict[str, str] = {}
    # Fields a key is unique together with (a lot's code is unique per product): `clean()` compares within them.
    IDENTITY_UNIQUE_WITH: tuple[str, ...] = ()

    def fill_identity_keys(self) -> None:
        for key_field, source in self.IDENTITY_KEYS.items():
            setattr(self, key_field, identity_key(getattr(self, source)))

    def check_identifiers(self, fields=None) -> None:
        """ValidationError (by field) when a source (of `fields`, default all) breaks `check_identifier`."""
        errors = {}
        for source in self.IDENTITY_KEYS.values():
            if fields is not None and source not in fields:
                continue
            try:
                check_identifier(getattr(self, source) or "")
            except ValidationError as exc:
                errors[source] = exc.messages
        if errors:
            raise ValidationError(errors)

    def clean(self):
        super().clean()
        self.check_identifiers()
        self.fill_identity_keys()
        errors = {}
        for key_field, source in self.IDENTITY_KEYS.items():
            key = getattr(self, key_field)
            scope = {f"{field}_id" if self._meta.get_field(field).is_relation else field:
                     getattr(self, f"{field}_id" if self._meta.get_field(field).is_relation else field)
                     for field in self.IDENTITY_UNIQUE_WITH}
            if key and type(self)._default_manager.filter(**{key_field: key}, **scope).exclude(pk=self.pk).exists():
                label = self._meta.get_field(source).verbose_name
                errors[source] = f"Another {self._meta.verbose_name} has this {label} (ignoring case and width)."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        # The last net for paths that skip the validators (commands, scripts): only the fields being written.
        self.check_identifiers(None if update_fields is None else set(update_fields))
        self.fill_identity_keys()
        if update_fields is not None:
            fields = set(update_fields)
            fields |= {key for key, source in self.IDENTITY_KEYS.items() if source in fields}
            kwargs["update_fields"] = fields
        super().save(*args, **kwargs)


class IdentityKeysQuerySet(models.QuerySet):
    """`bulk_create` fills the identity keys, which `save()` would have (bulk_create never calls it)."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.check_identifiers()
            obj.fill_identity_keys()
        return super().bulk_create(objs, *args, **kwargs)
