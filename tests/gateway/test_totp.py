import pyotp
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # mid-step
STEP = totp.time_step(NOW)


def code(step: int) -> str:
    return totp.code_at(SECRET, step)


def test_agrees_with_pyotp_totp() -> None:
    assert code(STEP) == pyotp.TOTP(SECRET).at(NOW)


def test_window_is_one_step_each_side() -> None:
    for offset in (-1, 0, 1):
        check = totp.check_code(SECRET, code(STEP + offset), NOW, None)
        assert check == totp.Check(totp.Verdict.OK, STEP + offset)
    for offset in (-2, 2):
        assert totp.check_code(SECRET, code(STEP + offset), NOW, None).verdict is totp.Verdict.WRONG


def test_replay_is_strictly_not_after_last_step() -> None:
    assert totp.check_code(SECRET, code(STEP), NOW, STEP).verdict is totp.Verdict.REPLAY
    assert totp.check_code(SECRET, code(STEP - 1), NOW, STEP - 1).verdict is totp.Verdict.REPLAY
    # A code heard on air stays refused for its whole validity, up to the last second.
    for later in (NOW, NOW + 30, NOW + 44):
        assert totp.check_code(SECRET, code(STEP), later, STEP).verdict is totp.Verdict.REPLAY
    assert totp.check_code(SECRET, code(STEP + 1), NOW, STEP).verdict is totp.Verdict.OK


def test_only_six_ascii_digits() -> None:
    good = code(STEP)
    for bad in ("", good[:5], good + "0", f" {good}", "12345a", "١٢٣٤٥٦", int(good).__str__()[:5]):
        assert totp.check_code(SECRET, bad, NOW, None).verdict is totp.Verdict.MALFORMED


def test_secret_and_uri() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32  # 32 base32 characters = 160 bits
    uri = totp.provisioning_uri(secret, "N0TEST", "Packet Gateway")
    assert uri.startswith("otpauth://totp/Packet%20Gateway:N0TEST?")
    assert f"secret={secret}" in uri and "=" not in secret
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == secret and parsed.digits == 6 and parsed.interval == 30


@given(
    st.text(max_size=20), st.floats(min_value=0, max_value=4e9), st.none() | st.integers(0, 2**40)
)
def test_never_raises(text: str, now: float, last: int | None) -> None:
    verdict = totp.check_code(SECRET, text, now, last).verdict
    assert verdict in totp.Verdict


def test_eight_digit_codes() -> None:
    eight = totp.code_at(SECRET, STEP, 8)
    assert len(eight) == 8 and eight.endswith(code(STEP))  # same HOTP, more digits kept
    assert totp.check_code(SECRET, eight, NOW, None, 8) == totp.Check(totp.Verdict.OK, STEP)
    # The other length is a wrong code (a guess like any other), not a malformed one.
    assert totp.check_code(SECRET, code(STEP), NOW, None, 8).verdict is totp.Verdict.WRONG
    assert totp.check_code(SECRET, eight, NOW, None).verdict is totp.Verdict.WRONG
    for bad in ("1234567", "123456789", "１２３４５６７８"):
        assert totp.check_code(SECRET, bad, NOW, None, 8).verdict is totp.Verdict.MALFORMED
    uri = totp.provisioning_uri(SECRET, "N0TEST", "Gw", 8)
    assert "digits=8" in uri
