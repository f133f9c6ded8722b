from pathlib import Path

from django.conf import settings

SAMPLE_DIVISIONS = Path(__file__).parent / "data" / "sample_divisions.csv"


def host_of(tenant) -> str:
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"


def make_id_number(region: str = "410102", birth: str = "19900307", sequence: str = "123") -> str:
    """A valid resident ID number (GB 11643) for tests."""
    from stdnum.cn import ric

    body = region + birth + sequence
    return body + ric.calc_check_digit(body + "0")


def current_totp(user) -> str:
    """The code the user's authenticator app would show now."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user).latest("id")
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
