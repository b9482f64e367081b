"""Store-and-forward of mail between a network's gateways (gateway/bridge/forward.py),
sans IO on an injected clock: only verified peers get mail, resends, answers, expiry,
pacing within the service's token bucket."""

from __future__ import annotations

import itertools

from gateway.bridge import forward, relay
from gateway.bridge.budget import TokenBucket
from gateway.bridge.forward import (
    FRESH,
    POLL_EVERY,
    RESEND_FIRST,
    RESERVE,
    Answered,
    Done,
    Forwarder,
    Note,
    Pending,
    Send,
    Tell,
)

GW = "fd00::1"  # a gateway's service address (the radio_key's, in trust.py)
DAY = 86400.0
WALL = 1_800_000_000.0


def is_peer(source: str) -> bool:
    nick, _, host = source.partition("!")
    return nick.lower() in {"w2gwmail", "k3gwmail"} and host.endswith("@" + GW)


def forwarder(burst: float = 100.0, rate: float = 1.0, peers=("W2GWmail", "K3GWmail")):
    bucket = TokenBucket(burst, rate, 0.0)
    fwd = Forwarder("N0GWmail", ("N0GWmail", *peers), str.lower, is_peer, bucket)
    return fwd, bucket


def message(n: int = 1, call: str = "N0BBB") -> Pending:
    passed = relay.Passed(call, f"alice{n}!a@198.51.100.7", "", "PRIVMSG", f"m{n}", f"{n:016x}")
    return Pending(passed, WALL)


def lines(actions) -> list[str]:
    return [a.line for a in actions if isinstance(a, Send)]


def gwmail(actions) -> list[tuple[str, str]]:
    """(peer, id) of each GWMAIL sent."""
    out = []
    for line in lines(actions):
        verb, peer, payload = [*line.split(" ", 2), ""][:3]
        passed = relay.parse(payload[1:]) if verb == "PRIVMSG" else None
        if passed is not None:
            out.append((peer, passed.id))
    return out


def up(fwd: Forwarder, now: float, shown: str) -> list[forward.Action]:
    """The link comes up: the poll it sends, answered with `shown`."""
    fwd.link_up(now)
    polled = lines(fwd.tick(now, WALL, 30 * DAY))
    assert polled == ["USERHOST " + " ".join(fwd.peers())]
    return fwd.userhost("N0GWmail", shown, now)


def test_mail_goes_only_to_peers_at_a_gateway_address() -> None:
    fwd, _ = forwarder()
    fwd.add(message(), 0.0)
    assert fwd.tick(0.0, WALL, 30 * DAY) == []  # not on IRC: nothing
    said = up(fwd, 1.0, f"W2GWmail=+gateway@{GW} K3GWmail=+~evil@203.0.113.9")
    # HELLO to the verified peer, a log line for the impostor (once), mail to W2 only,
    # at the reply: the check is as fresh as it gets.
    assert said[0] == Tell("W2GWmail", relay.hello(), once=True)
    assert gwmail(said) == [("W2GWmail", "0000000000000001")]
    assert [a.text for a in said if isinstance(a, Note)] == [
        "K3GWmail is K3GWmail!~evil@203.0.113.9, not at a gateway's address:"
        " no mail is passed to it"
    ]
    assert gwmail(fwd.tick(1.0, WALL, 30 * DAY)) == []  # sent already
    # The impostor is polled again and stays unserved, told once in the log.
    later = 1.0 + POLL_EVERY
    assert lines(fwd.tick(later, WALL, 30 * DAY)) == ["USERHOST W2GWmail K3GWmail"]
    again = fwd.userhost("N0GWmail", f"K3GWmail*=-~evil@203.0.113.9 W2GWmail=+gateway@{GW}", later)
    assert again == []
    assert gwmail(fwd.tick(later, WALL, 30 * DAY)) == []  # W2's resend is not due yet


def test_the_links_own_userhost_reply_is_not_taken_for_the_poll() -> None:
    fwd, _ = forwarder()
    fwd.add(message(), 0.0)
    fwd.link_up(0.0)
    fwd.tick(0.0, WALL, 30 * DAY)
    assert fwd.userhost("N0GWmail", f"N0GWmail=+gateway@{GW}", 0.0) == []
    assert gwmail(fwd.tick(0.0, WALL, 30 * DAY)) == []  # still waiting for the poll's reply
    said = fwd.userhost("N0GWmail", f"W2GWmail=+gateway@{GW}", 0.5)
    assert gwmail(said) == [("W2GWmail", "0000000000000001")]


def test_a_peer_that_comes_back_gets_what_was_kept_at_once() -> None:
    fwd, _ = forwarder()
    up(fwd, 0.0, "")  # nobody there: no HELLO, nothing sent
    fwd.add(message(), 5.0)
    assert lines(fwd.tick(5.0, WALL, 30 * DAY)) == ["USERHOST W2GWmail K3GWmail"]
    assert fwd.userhost("N0GWmail", "", 5.0) == []
    assert gwmail(fwd.tick(6.0, WALL, 30 * DAY)) == []
    assert fwd.wake_in(6.0) == 5.0 + POLL_EVERY - 6.0  # the next poll
    # W2 says HELLO when its service comes on IRC: sent to it at once.
    fwd.heard(f"W2GWmail!gateway@{GW}", 20.0)
    assert fwd.wake_in(20.0) == 0.0
    assert gwmail(fwd.tick(20.0, WALL, 30 * DAY)) == [("W2GWmail", "0000000000000001")]
    # K3 comes back, seen by the next poll.
    t = 5.0 + POLL_EVERY
    fwd.tick(t, WALL, 30 * DAY)
    said = fwd.userhost("N0GWmail", f"K3GWmail=+gateway@{GW} W2GWmail=+gateway@{GW}", t)
    assert gwmail(said) == [("K3GWmail", "0000000000000001")]


def test_unanswered_mail_is_sent_again_waiting_longer_each_time() -> None:
    fwd, _ = forwarder(peers=("W2GWmail",))
    fwd.link_up(0.0)
    fwd.add(message(), 0.0)
    sent_at = []
    t = 0.0
    while len(sent_at) < 4:
        actions = fwd.tick(t, WALL, 30 * DAY)
        if any(line.startswith("USERHOST") for line in lines(actions)):
            actions += fwd.userhost("N0GWmail", f"W2GWmail=+gateway@{GW}", t)  # still there
        if gwmail(actions):
            sent_at.append(t)
        t += 1.0
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert gaps == [RESEND_FIRST, 2 * RESEND_FIRST, 4 * RESEND_FIRST]


def test_a_stale_verification_is_renewed_before_sending() -> None:
    fwd, _ = forwarder(peers=("W2GWmail",))
    up(fwd, 0.0, f"W2GWmail=+gateway@{GW}")
    fwd.add(message(), FRESH + 1)  # verified a while ago: maybe not the gateway now
    assert fwd.wake_in(FRESH + 1) == 0.0
    assert lines(fwd.tick(FRESH + 1, WALL, 30 * DAY)) == ["USERHOST W2GWmail"]
    # Now an impostor holds the nick: nothing is sent.
    fwd.userhost("N0GWmail", "W2GWmail=+x@203.0.113.9", FRESH + 2)
    assert gwmail(fwd.tick(FRESH + 2, WALL, 30 * DAY)) == []


def test_answers_end_a_message_and_a_refusal_is_told_from_here() -> None:
    fwd, _ = forwarder()
    for n in (1, 2, 3):
        fwd.add(message(n), 0.0)
    assert len(gwmail(up(fwd, 0.0, f"W2GWmail=+gateway@{GW} K3GWmail=+gateway@{GW}"))) == 6
    w2, k3 = f"W2GWmail!gateway@{GW}", f"K3GWmail!gateway@{GW}"
    # 1: held by K3 after W2 said not-here.
    first = "0000000000000001"
    assert fwd.ack(w2, relay.Ack(first, relay.NOT_HERE), 1.0) == [
        Answered(first, frozenset({"w2gwmail"}))
    ]
    assert fwd.ack(k3, relay.Ack(first, relay.HELD), 1.0) == [Done(first, "held")]
    assert fwd.ack(k3, relay.Ack(first, relay.HELD), 1.0) == []  # a resend's second ack
    # 2: refused where it is enrolled: the sender is told by this gateway.
    refusal = "Not held for N0BBB: only users logged in ... (third-party rule)."
    assert fwd.ack(w2, relay.Ack("0000000000000002", relay.REFUSED, refusal), 1.0) == [
        Done("0000000000000002", "refused"),
        Tell("alice2", refusal),
    ]
    # 3: nobody serves it: dropped once every peer said so.
    third = "0000000000000003"
    fwd.ack(w2, relay.Ack(third, relay.NOT_HERE), 1.0)
    assert fwd.ack(k3, relay.Ack(third, relay.NOT_HERE), 1.0) == [Done(third, "nobody")]
    assert len(fwd) == 0
    assert fwd.tick(1000.0, WALL, 30 * DAY) == []  # nothing is sent again


def test_not_here_kept_across_a_restart_is_not_asked_again() -> None:
    fwd, _ = forwarder()
    old = message()
    fwd.add(Pending(old.passed, old.at, frozenset({"w2gwmail"})), 0.0)
    said = up(fwd, 0.0, f"W2GWmail=+gateway@{GW} K3GWmail=+gateway@{GW}")
    assert gwmail(said) == [("K3GWmail", "0000000000000001")]


def test_kept_mail_expires_at_the_mailboxs_age_and_its_sender_is_told() -> None:
    fwd, _ = forwarder()
    fwd.add(message(), 0.0)
    assert fwd.tick(1.0, WALL + 30 * DAY, 30 * DAY) == []
    assert fwd.tick(2.0, WALL + 30 * DAY + 1, 30 * DAY) == [
        Done("0000000000000001", "expired"),
        Tell("alice1", "Your message to N0BBB expired unread.", later=True),
    ]


def test_sends_wait_for_tokens_above_the_reserve_and_none_is_dropped() -> None:
    fwd, bucket = forwarder(burst=8, rate=1.0, peers=("W2GWmail",))
    for n in range(1, 21):
        fwd.add(message(n), 0.0)
    said = up(fwd, 0.0, f"W2GWmail=+gateway@{GW}")  # the poll: 1 token (HELLO: a Tell)
    sent = gwmail(said)
    assert len(sent) == 8 - 1 - RESERVE  # the poll took one; RESERVE left for answers
    assert bucket.level(0.0) >= RESERVE
    t = 0.0
    while len(sent) < 20:
        t += fwd.wake_in(t) or 0.0
        actions = fwd.tick(t, WALL, 30 * DAY)
        for line in lines(actions):
            if line.startswith("USERHOST"):
                actions += fwd.userhost("N0GWmail", f"W2GWmail=+gateway@{GW}", t)
        sent += gwmail(actions)
        assert t < 100
    assert sorted(id_ for _, id_ in sent) == [f"{n:016x}" for n in range(1, 21)]


def test_hello_waits_in_the_notice_queue_like_every_other_notice() -> None:
    """HELLO to each peer verified at our link's coming up takes no token here: it is a
    Tell, which waits in the service's notice queue for a token of the same bucket
    (so greeting many peers at once never goes past the flood limit)."""
    fwd, bucket = forwarder(burst=RESERVE + 1, rate=1.0)  # the poll's token, then none
    said = up(fwd, 0.0, f"W2GWmail=+gateway@{GW} K3GWmail=+gateway@{GW}")
    assert said == [
        Tell("W2GWmail", relay.hello(), once=True),
        Tell("K3GWmail", relay.hello(), once=True),
    ]
    assert bucket.level(0.0) == RESERVE  # the reserve left for the notice queue


def test_answers_to_peers_are_queued_paced_and_bounded() -> None:
    fwd, _ = forwarder(burst=7, rate=1.0)
    shown = f"W2GWmail=+gateway@{GW}"
    up(fwd, 0.0, shown)  # the poll: one token
    for n in range(forward.ACKS_MAX + 10):
        fwd.answer("W2GWmail", relay.Ack(f"{n:016x}", relay.NOT_HERE))
    first = lines(fwd.tick(0.0, WALL, 30 * DAY))
    assert first[0] == f"NOTICE W2GWmail :\x01{relay.ACK} {0:016x} not-here\x01"
    assert len(first) == 6 - RESERVE
    t, total = 0.0, len(first)
    while (wait := fwd.wake_in(t)) is not None:
        t += wait
        sent = lines(fwd.tick(t, WALL, 30 * DAY))
        if any(line.startswith("USERHOST") for line in sent):  # W2 checked again
            sent += lines(fwd.userhost("N0GWmail", shown, t))
        total += len([line for line in sent if line.startswith("NOTICE")])
        assert t < 1000
    assert total == forward.ACKS_MAX  # past the bound: dropped, and the message resent


def test_answers_go_only_to_a_peer_verified_just_now() -> None:
    """An impostor who takes W2's nick (found by the check a stale answer brings) gets
    none; answers queued when our link drops are not sent after it comes back."""
    fwd, _ = forwarder()
    up(fwd, 0.0, f"W2GWmail=+gateway@{GW} K3GWmail=+gateway@{GW}")
    fwd.answer("W2GWmail", relay.Ack("0000000000000001", relay.HELD))
    t = FRESH + 5
    assert lines(fwd.tick(t, WALL, 30 * DAY)) == ["USERHOST W2GWmail K3GWmail"]
    assert fwd.wake_in(t) == forward.QUERY_TIMEOUT  # no spin while the check is out
    assert lines(fwd.userhost("N0GWmail", "W2GWmail=+x@203.0.113.9", t)) == []
    assert lines(fwd.tick(t, WALL, 30 * DAY)) == []  # dropped: W2 is not there
    assert fwd.wake_in(t) is None
    fwd.answer("K3GWmail", relay.Ack("0000000000000002", relay.HELD))
    fwd.link_down()
    up(fwd, t + 1, f"K3GWmail=+gateway@{GW}")
    assert lines(fwd.tick(t + 1, WALL, 30 * DAY)) == []


def test_nothing_to_do_sleeps_until_an_event() -> None:
    fwd, _ = forwarder()
    assert fwd.wake_in(0.0) is None  # not on IRC
    up(fwd, 0.0, "")
    assert fwd.wake_in(1.0) is None  # on IRC, nothing kept
    assert fwd.tick(1.0, WALL, 30 * DAY) == []


def test_no_peer_or_no_token_never_spins() -> None:
    """Whatever the state, `wake_in` never asks for a tick that does nothing, again."""
    alone = Forwarder("N0GWmail", ("N0GWmail",), str.lower, is_peer, TokenBucket(8, 1, 0.0))
    alone.link_up(0.0)
    alone.add(message(), 0.0)  # kept from a time the gateway had peers
    assert alone.tick(0.0, WALL, 30 * DAY) == []
    assert alone.wake_in(0.0) == POLL_EVERY
    dry, bucket = forwarder(burst=RESERVE + 1, rate=0.5)
    while bucket.take(0.0):
        pass
    dry.link_up(0.0)
    dry.add(message(), 0.0)
    assert dry.tick(0.0, WALL, 30 * DAY) == []
    wait = dry.wake_in(0.0)
    assert wait == bucket.wait(0.0, RESERVE) > 0
    assert lines(dry.tick(wait, WALL, 30 * DAY)) == ["USERHOST W2GWmail K3GWmail"]


def run_loop(fwd: Forwarder, start: float, end: float, reply: str) -> list[tuple[float, str]]:
    """service.py's relay loop: tick, then `wake_in`, then sleep; the server answers each
    USERHOST 50 ms later, while the loop sleeps, and the reply does not wake it (the
    core must not rely on a wake-up to use the check it asked for). The lines sent, timed."""
    sent: list[tuple[float, str]] = []
    now = start
    while now < end:
        out = lines(fwd.tick(now, WALL, 30 * DAY))
        wait = fwd.wake_in(now)  # before the reply comes
        sent += [(now, line) for line in out]
        if any(line.startswith("USERHOST") for line in out):
            at = now + 0.05
            sent += [(at, line) for line in lines(fwd.userhost("N0GWmail", reply, at))]
        now += wait if wait is not None else end
    return sent


def test_mail_kept_on_a_quiet_network_is_sent_after_the_poll_it_brings() -> None:
    """The last line from W2 was long ago (more than FRESH): the poll the mail brings
    is answered while the loop sleeps, and the mail goes at that answer."""
    fwd, _ = forwarder(peers=("W2GWmail",))
    shown = f"W2GWmail=+gateway@{GW}"
    up(fwd, 0.0, shown)
    assert run_loop(fwd, 0.0, 100.0, shown) == []  # nothing kept: quiet
    fwd.add(message(), 100.0)
    sent = run_loop(fwd, 100.0, 100.0 + DAY, shown)
    mail = [(t, line) for t, line in sent if "GWMAIL" in line]
    assert mail[0] == (100.05, f"PRIVMSG W2GWmail :{message().passed.payload()}")
    # Unanswered, it is sent again (waiting up to RESEND_MAX), each within FRESH of a check.
    assert len(mail) >= DAY // forward.RESEND_MAX
    polls = [t for t, line in sent if line.startswith("USERHOST")]
    assert all(any(0 < t - u <= FRESH + 0.05 for u in polls) for t, _ in mail)


def test_a_peer_not_seen_for_a_day_is_crossed_off() -> None:
    """K3 is listed but never comes: mail W2 said not-here for is dropped after GIVE_UP
    (counted from the message, or from our link's return), not kept for the mailbox's age."""
    fwd, _ = forwarder()
    up(fwd, 0.0, f"W2GWmail=+gateway@{GW}")
    fwd.add(message(), 10.0)
    w2 = f"W2GWmail!gateway@{GW}"
    assert fwd.ack(w2, relay.Ack("0000000000000001", relay.NOT_HERE), 11.0) == [
        Answered("0000000000000001", frozenset({"w2gwmail"}))
    ]
    assert ends(fwd.tick(10.0 + forward.GIVE_UP, WALL, 30 * DAY)) == []
    fwd.link_down()
    fwd.link_up(20.0 + forward.GIVE_UP)  # our own link was away: K3 gets its day again
    assert ends(fwd.tick(30.0 + forward.GIVE_UP, WALL, 30 * DAY)) == []
    given_up = fwd.tick(21.0 + 2 * forward.GIVE_UP, WALL, DAY * 30)
    assert ends(given_up) == [Done("0000000000000001", "nobody")]
    # The sysop hears of it, once per peer given up.
    assert [a.text for a in given_up if isinstance(a, forward.Note)] == [
        "K3GWmail not seen at a gateway's address for 24 h: 1 message(s) kept for it no"
        " longer wait for it"
    ]
    assert len(fwd) == 0
    # A peer seen lately is not given up, however old the message.
    fwd.add(message(2), 0.0)
    fwd.heard(f"K3GWmail!gateway@{GW}", 3 * forward.GIVE_UP)
    said = ends(fwd.tick(3 * forward.GIVE_UP + 1, WALL, 30 * DAY))
    assert said == [Answered("0000000000000002", frozenset({"w2gwmail"}))]


def ends(actions) -> list[forward.Action]:
    return [a for a in actions if isinstance(a, Done | Answered)]


def test_people_asking_all_the_time_do_not_stall_the_relay() -> None:
    """Answers to people keep the service's bucket at its reserve: the relay goes on
    with its own share (a token every 4 s), which answers cannot take."""
    bucket = TokenBucket(6, 0.75, 0.0)
    share = TokenBucket(2, 0.25, 0.0)
    fwd = Forwarder("N0GWmail", ("N0GWmail", "W2GWmail"), str.lower, is_peer, bucket, share)
    for n in range(1, 11):
        fwd.add(message(n), 0.0)
    fwd.link_up(0.0)
    sent, t = [], 0.0
    while t < 60.0:
        while bucket.take(t):  # people's answers take every token they can
            pass
        actions = fwd.tick(t, WALL, 30 * DAY)
        for line in lines(actions):
            if line.startswith("USERHOST"):
                actions += fwd.userhost("N0GWmail", f"W2GWmail=+gateway@{GW}", t)
        sent += gwmail(actions)
        t += 0.5
    assert len({id_ for _, id_ in sent}) == 10  # all passed on within a minute


def test_many_expiries_are_all_told_at_once_in_order() -> None:
    """Each sender told, in the order kept, as word for later: the service's notice
    queue paces them behind its answers (test_mail_room.py, test_noticequeue.py)."""
    fwd, _ = forwarder()
    up(fwd, 0.0, "")
    for n in range(1, 11):
        fwd.add(message(n), 0.0)
    said = fwd.tick(10.0, WALL + 31 * DAY, 30 * DAY)
    assert [a for a in said if isinstance(a, Tell)] == [
        Tell(f"alice{n}", "Your message to N0BBB expired unread.", later=True) for n in range(1, 11)
    ]
    assert [a.id for a in said if isinstance(a, Done)] == [f"{n:016x}" for n in range(1, 11)]
    assert len(fwd) == 0 and fwd.wake_in(10.0) is None


def test_word_of_expiries_for_peers_is_bounded_with_room_past_the_acks() -> None:
    """Word of expiries (mailbox.py's `expired_via`) is not sent again if dropped, so it
    has room past ACKS_MAX; past WORDS_MAX it is refused (and counted by the mailbox)."""
    fwd, _ = forwarder()
    acks = [fwd.answer("W2GWmail", relay.Ack(f"{n:016x}", relay.HELD)) for n in range(300)]
    assert acks.count(True) == forward.ACKS_MAX
    words = [fwd.answer("W2GWmail", relay.Expired(f"s{n}", "N0AAA")) for n in range(1000)]
    assert words.count(True) == forward.WORDS_MAX - forward.ACKS_MAX
    assert words == sorted(words, reverse=True)  # the first ones in
    assert not fwd.answer("W2GWmail", relay.Ack("f" * 16, relay.HELD))
