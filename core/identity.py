"""Identity keys: the one normalization under which two names, e-mails, SKUs or codes are "the same".

`identity_key(text)` is Unicode NFKC + case folding (the Unicode "NFKC_Casefold" recipe) with the
surrounding blanks stripped: `ＢＯＬＴ-1` (fullwidth), `bolt-1` and `BOLT-1` share one key, and so do
`É` and `é` on every database (SQLite's LOWER folds ASCII only). Each model that holds such an
identifier stores the key in an indexed column with a UNIQUE constraint (`IdentityKeysMixin` fills it
on `save()` and `bulk_create`), and every "is it taken?" check compares keys.

NFKC does not fold look-alike letters of different scripts (`а`, Cyrillic, is not `a`), so input
identifiers that mix Latin with Cyrillic or Greek letters are refused (`refuse_mixed_scripts`).
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.db import models

# Scripts whose letters are commonly confused with each other (homoglyphs).
CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def identity_key(text: str | None) -> str:
    """NFKC, case-folded, NFKC again (folding can denormalize), stripped: the comparison key of an identifier."""
    if not text:
        return ""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).strip()


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

    def fill_identity_keys(self) -> None:
        for key_field, source in self.IDENTITY_KEYS.items():
            setattr(self, key_field, identity_key(getattr(self, source)))

    def clean(self):
        super().clean()
        self.fill_identity_keys()
        errors = {}
        for key_field, source in self.IDENTITY_KEYS.items():
            key = getattr(self, key_field)
            if key and type(self)._default_manager.filter(**{key_field: key}).exclude(pk=self.pk).exists():
                label = self._meta.get_field(source).verbose_name
                errors[source] = f"Another {self._meta.verbose_name} has this {label} (ignoring case and width)."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.fill_identity_keys()
        update_fields = kwargs.get("update_fields")
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
            obj.fill_identity_keys()
        return super().bulk_create(objs, *args, **kwargs)
