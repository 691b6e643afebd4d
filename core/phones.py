"""Phone numbers to E.164 with `phonenumbers`; Kazakhstan is the default region."""

from __future__ import annotations

import phonenumbers

from core.errors import ValidationFailed


def normalize_phone(raw: str, *, region: str = "KZ") -> str:
    """'8 701 123 45 67' → '+77011234567'; refuses what is not a valid number."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise ValidationFailed("the phone number cannot be read", code="invalid_phone") from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed("the phone number is not a valid number", code="invalid_phone")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def mask_phone(e164: str) -> str:
    """For staff lists and logs that must not show the whole number: +7701***4567."""
    return e164[:5] + "***" + e164[-4:] if len(e164) > 9 else "***"
