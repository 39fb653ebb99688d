"""The caller's own profile: name, e-mail, contact details and picture."""

from django.db import IntegrityError, transaction

from core.identity import identity_key

from ..audit import record_event
from ..errors import DuplicateAccount, WrongPassword
from ..images import sanitize_image
from ..models import User, UserProfile
from ..tasks import send_email_change_notice
from .locks import lock_user


@transaction.atomic
def update_profile(*, user: User, data: dict, ip: str | None = None) -> User:
    """Update the user's own name, e-mail, phone, bio and image (sanitized, old file removed after commit).

    Locks the user's row. `image` may be an upload (sanitized here) or the output of
    images.sanitize_image; None removes it. A new e-mail needs `data["current_password"]` (checked
    under the lock) and queues, in this transaction, a notice to the old address.
    Raises WrongPassword (400) when the e-mail changes without the right current password,
    DuplicateAccount (400) when the e-mail belongs to someone else and images.InvalidImage for
    an unacceptable image (the serializer validates first, so the API answers 400 before this).
    """
    user = lock_user(user.pk)
    old_email = user.email
    if "email" in data and data["email"] != old_email and not user.check_password(data.get("current_password") or ""):
        raise WrongPassword("The current password is needed to change the e-mail address.")
    profile, _ = UserProfile.objects.get_or_create(user=user)
    changed = []
    for field in ("first_name", "last_name", "email"):
        if field in data and getattr(user, field) != data[field]:
            setattr(user, field, data[field])
            changed.append(field)
    taken = User.objects.filter(email_key=identity_key(user.email)).exclude(pk=user.pk)
    if "email" in changed and user.email and taken.exists():
        raise DuplicateAccount("A user with this e-mail already exists.")
    if changed:
        try:
            with transaction.atomic():
                user.save(update_fields=changed)
        except IntegrityError as exc:
            raise DuplicateAccount("A user with this e-mail already exists.") from exc
    if "email" in changed and old_email:
        send_email_change_notice.enqueue(user_id=user.pk, old_email=old_email)
    profile_changed = []
    for field in ("phone", "bio"):
        if field in data and getattr(profile, field) != data[field]:
            setattr(profile, field, data[field])
            profile_changed.append(field)
    if "image" in data:
        old_name = profile.image.name if profile.image else ""
        storage = profile.image.storage
        if data["image"] is None:
            profile.image = ""
        else:
            clean = data["image"] if getattr(data["image"], "sanitized", False) else sanitize_image(data["image"])
            profile.image.save(clean.name, clean, save=False)
        profile_changed.append("image")
        if old_name:
            transaction.on_commit(lambda: storage.delete(old_name))
    if profile_changed:
        profile.save(update_fields=[*profile_changed, "updated_at"])
    if changed or profile_changed:
        record_event(actor=user, action="user.profile_update", target=user, data={"fields": changed + profile_changed},
                     ip=ip)
    return user
