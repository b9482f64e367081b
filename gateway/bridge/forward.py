"""Store-and-forward of mail passed between a network's gateways, sans IO.

`Forwarder` decides what the service nick sends, given events and a clock: no socket,
no store, no timer of its own (service.py carries out its actions and writes its rows
to the store, relaystore.py). A message for a callsign not enrolled here is kept
(`Pending`, a row of the store) until a gateway answers for it (relay.py's acks):
`held` or `refused` ends it (a refusal is told to the sender from our own nick), each
`not-here` crosses that gateway off (so does a gateway not seen for GIVE_UP), and when
every other gateway is crossed off it is dropped, silently: no gateway serves the
callsign. Otherwise it is kept up to the mailbox's age, then its sender is told it
expired (all that are due at once: the word waits in the service's notice queue,
noticequeue.py, behind the answers to people, so none is lost to flood).

Mail goes only to a peer verified just now: the network showed its nick at the
`radio_key` address of a gateway's service (a USERHOST reply, or a line from it), so an
impostor holding a down gateway's nick reads nothing. While anything is kept the peers
are polled every POLL_EVERY seconds and right after our link comes up; what is due
goes at the poll's answer (the loop that asked may sleep past FRESH), and a peer seen
again (or saying HELLO) gets what is kept for it at once. A message unanswered is sent
again, waiting longer each time; the receiver holds it once (its id).

Everything sent draws on the service's token bucket above RESERVE tokens, left for
answers to people, or on the relay's own small bucket, which answers cannot use up: a
queue of mail waits for tokens, it is never dropped for flood, nor stalled by people.
HELLO is a notice like the service's others (`Tell`): it waits in the service's notice
queue (noticequeue.py) for tokens of the same bucket, so that greeting many peers at
once never goes past the network's flood limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gateway.bridge import relay
from gateway.bridge.budget import TokenBucket

#: Seconds between USERHOST polls of the peers while anything is kept.
POLL_EVERY = 45.0
#: A peer's verification is good for sending this long; older, it is polled first.
FRESH = 20.0
#: The first resend of an unanswered message, doubling up to RESEND_MAX.
RESEND_FIRST = 60.0
RESEND_MAX = 3600.0
#: A USERHOST not answered within this is given up.
QUERY_TIMEOUT = 30.0
#: A peer not verified for this long (while our link is up, since a message was kept)
#: is taken to have said not-here for it: mail for made-up callsigns does not wait out
#: the mailbox's age whenever one listed gateway is down or never deployed.
GIVE_UP = 86400.0
#: While anything is kept, expiry is checked at least this often (the mailbox's age
#: is counted in days). All that are due expire at once: at most what is kept
#: (relaystore.OUT_MAX), and each sender's word waits in the service's notice queue.
EXPIRE_CHECK = 3600.0
#: Tokens of the service's bucket left for answers to people.
RESERVE = 4
#: Acks queued at most (one not sent is no loss: its message is sent again).
ACKS_MAX = 256
#: Answers queued at most with word of expiries among them (mailbox.py): unlike an ack
#: it is not sent again, so a prune's worth of them has room (the service's notice
#: queue has as much, noticequeue.QUEUE_MAX).
WORDS_MAX = 1000
#: Nicks per USERHOST (RFC 2812).
USERHOST_MAX = 5


@dataclass(frozen=True, slots=True)
class Pending:
    """A message kept for passing on: taken at `at` (wall time); `answered`, the
    (folded) peers that said it is not theirs."""

    passed: relay.Passed
    at: float
    answered: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Send:
    """A line for the service's link."""

    line: str


@dataclass(frozen=True, slots=True)
class Tell:
    """A notice from our own service nick through the service's notice queue: to a
    sender, or HELLO to a peer (`later`: word nobody is waiting for, sent after the
    answers to people)."""

    nick: str
    text: str
    later: bool = False
    #: Not queued again while the same notice waits (a HELLO queued before a reconnect
    #: and the one the reconnect makes are one).
    once: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    """Forget message `id` (its row): `why` is held, refused, nobody or expired."""

    id: str
    why: str


@dataclass(frozen=True, slots=True)
class Answered:
    """Message `id` is not for the peers in `answered` (its row keeps them)."""

    id: str
    answered: frozenset[str]


@dataclass(frozen=True, slots=True)
class Note:
    """Something for the log."""

    text: str


Action = Send | Tell | Done | Answered | Note


@dataclass(slots=True)
class _Peer:
    nick: str
    #: When it was last seen at a gateway's address (monotonic); None: not now.
    verified: float | None = None
    #: When it was last verified at all (kept when our link drops): for GIVE_UP.
    last: float = float("-inf")
    #: An impostor on its nick was logged (once until it is verified again, or until
    #: another message is kept).
    warned: bool = False


@dataclass(slots=True)
class _Entry:
    pending: Pending
    #: When it was added (monotonic; at a restart, the restart): for GIVE_UP.
    since: float = 0.0
    #: Folded peer -> when the message is next sent to it, and the wait after that.
    due: dict[str, float] = field(default_factory=dict)
    backoff: dict[str, float] = field(default_factory=dict)


class Forwarder:
    def __init__(
        self,
        own: str,
        peers: Iterable[str],
        fold: Callable[[str], str],
        is_peer: Callable[[str], bool],
        bucket: TokenBucket,
        share: TokenBucket | None = None,
    ) -> None:
        self._fold = fold
        #: Whether a full source is a gateway's service nick (Trust.peer_service).
        self._is_peer = is_peer
        self._bucket = bucket
        #: The relay's own share of the service's sending, which answers to people
        #: cannot use up: mail between gateways goes on however many ask meanwhile.
        self._share = share
        self._peers = {fold(n): _Peer(n) for n in peers if fold(n) != fold(own)}
        self._kept: dict[str, _Entry] = {}
        #: Answers to peers: (folded peer, line), sent only to a peer verified just now.
        self._acks: deque[tuple[str, str]] = deque()
        #: USERHOSTs in flight: when sent, and the folded nicks asked.
        self._queries: deque[tuple[float, tuple[str, ...]]] = deque()
        self._next_poll = 0.0
        self._up = False
        #: When our link last came up (monotonic): nobody is given up before GIVE_UP after.
        self._up_at = 0.0
        self._hello = False

    def __len__(self) -> int:
        return len(self._kept)

    def peers(self) -> list[str]:
        return [peer.nick for peer in self._peers.values()]

    # -- events ---------------------------------------------------------------------------

    def add(self, pending: Pending, now: float) -> None:
        """A message kept (its row written): sent to each peer once verified."""
        entry = _Entry(pending, now)
        for peer in self._peers:
            if peer not in pending.answered:
                entry.due[peer] = now
                entry.backoff[peer] = RESEND_FIRST
        self._kept[pending.passed.id] = entry
        self._next_poll = min(self._next_poll, now)
        for known in self._peers.values():
            known.warned = False  # an impostor found by the poll it brings is logged again

    def link_up(self, now: float) -> None:
        """Our service nick is on IRC (again): poll the peers now, and say HELLO to
        those verified."""
        self._up, self._hello, self._up_at = True, True, now
        self._forget_peers()
        self._next_poll = now

    def link_down(self) -> None:
        self._up = False
        self._acks.clear()  # for whoever holds a peer's nick when we are back: no
        self._forget_peers()

    def _forget_peers(self) -> None:
        self._queries.clear()
        for peer in self._peers.values():
            peer.verified = None

    def heard(self, source: str, now: float) -> None:
        """A line believed from a peer's service nick (Trust.peer_service): it is there."""
        self._verified(self._fold(source.partition("!")[0]), now)

    def _verified(self, key: str, now: float) -> None:
        peer = self._peers.get(key)
        if peer is None:
            return
        if peer.verified is None:  # seen again: what is kept for it goes now
            for entry in self._kept.values():
                if key in entry.due:
                    entry.due[key] = now
                    entry.backoff[key] = RESEND_FIRST
        peer.verified, peer.last, peer.warned = now, now, False

    def userhost(self, own: str, reply: str, now: float) -> list[Action]:
        """A 302 reply (its last parameter): which peers asked are there, and at what
        address, and what is due for those verified, sent at once. The link's own
        USERHOST (our nick) is not ours to read."""
        shown = {}
        for item in reply.split():
            nick, _, rest = item.partition("=")
            shown[self._fold(nick.rstrip("*"))] = (nick.rstrip("*"), rest[1:])
        if self._fold(own) in shown or not self._queries:
            return []
        _, asked = self._queries.popleft()
        actions: list[Action] = []
        for key in asked:
            nick, userhost = shown.get(key, ("", ""))
            if nick and self._is_peer(f"{nick}!{userhost}"):
                self._verified(key, now)
                if self._hello:  # paced with the answers: worth most while fresh
                    actions.append(Tell(nick, relay.hello(), once=True))
                continue
            peer = self._peers[key]
            peer.verified = None
            if nick and not peer.warned:
                peer.warned = True
                actions.append(Note(f"{nick} is {nick}!{userhost}, not at a gateway's address:"
                                    " no mail is passed to it"))  # fmt: skip
        if not self._queries:
            self._hello = False
        # Sent now, while the check is fresh: the loop that polled may sleep past FRESH.
        actions.extend(self._answers(now))
        actions.extend(self._sends(now))
        return actions

    def ack(self, source: str, ack: relay.Ack, now: float) -> list[Action]:
        """A peer's answer to message `ack.id` (`source` believed: Trust.peer_service)."""
        key = self._fold(source.partition("!")[0])
        self._verified(key, now)
        entry = self._kept.get(ack.id)
        if entry is None or key not in self._peers:
            return []  # answered already (a resend's ack), or expired
        passed = entry.pending.passed
        if ack.outcome == relay.HELD:
            del self._kept[ack.id]
            return [Done(ack.id, "held")]
        if ack.outcome == relay.REFUSED:
            del self._kept[ack.id]
            return [Done(ack.id, "refused"), Tell(passed.nick, ack.text)]
        return self._not_here(ack.id, entry, (key,))

    def _not_here(self, id_: str, entry: _Entry, keys: Iterable[str]) -> list[Action]:
        """Peers `keys` do not serve message `id_`: dropped once nobody is left."""
        for key in keys:
            entry.due.pop(key, None)
        answered = entry.pending.answered | set(keys)
        entry.pending = Pending(entry.pending.passed, entry.pending.at, answered)
        if not entry.due:
            del self._kept[id_]
            return [Done(id_, "nobody")]
        return [Answered(id_, answered)]

    def answer(self, peer: str, ack: relay.Ack | relay.Expired) -> bool:
        """Queue our answer to a message a peer passed on (or word of its expiry);
        False: too many wait, it is dropped."""
        if len(self._acks) >= (WORDS_MAX if isinstance(ack, relay.Expired) else ACKS_MAX):
            return False
        self._acks.append((self._fold(peer), f"NOTICE {peer} :{ack.payload()}"))
        return True

    # -- time -----------------------------------------------------------------------------

    def tick(self, now: float, wall: float, max_age: float) -> list[Action]:
        """What is due at `now` (monotonic; `wall` dates the messages): expiries, acks,
        polls and sends, as far as the bucket allows."""
        actions = self._expire(wall, max_age)
        if not self._up:
            return actions
        while self._queries and self._queries[0][0] + QUERY_TIMEOUT <= now:
            self._queries.popleft()
        actions.extend(self._answers(now))
        actions.extend(self._give_up(now))
        actions.extend(self._poll(now))
        actions.extend(self._sends(now))
        return actions

    def _expire(self, wall: float, max_age: float) -> list[Action]:
        """The messages past the mailbox's age, in the order kept: each sender told."""
        actions: list[Action] = []
        for id_, entry in list(self._kept.items()):
            if wall - entry.pending.at > max_age:
                del self._kept[id_]
                passed = entry.pending.passed
                told = Tell(passed.nick, relay.expired_text(passed.call), later=True)
                actions += [Done(id_, "expired"), told]
        return actions

    def _answers(self, now: float) -> list[Action]:
        """Queued answers, each to its peer if verified just now (else checked first);
        one for a peer found gone is dropped (it sends its message again)."""
        actions: list[Action] = []
        while self._acks and (ready := self._answer_ready(now)) is not None:
            if ready and not self._take(now):
                break
            _, line = self._acks.popleft()
            if ready:
                actions.append(Send(line))
        if self._acks and ready is None and not self._queries:
            self._next_poll = min(self._next_poll, now)  # its peer is checked first
        return actions

    def _answer_ready(self, now: float) -> bool | None:
        """The first answer: True (send it), False (drop it), None (its peer's check is
        stale: polled first)."""
        peer = self._peers.get(self._acks[0][0])
        if peer is None:
            return False
        if peer.verified is None:  # gone, or not checked yet since our link came up
            return None if self._queries or self._hello else False
        return True if peer.verified + FRESH >= now else None

    def _give_up(self, now: float) -> list[Action]:
        """Peers not verified for GIVE_UP are crossed off the messages they were due."""
        actions: list[Action] = []
        given_up: dict[str, int] = {}
        for id_, entry in list(self._kept.items()):
            start = max(entry.since, self._up_at)
            lost = [k for k in entry.due if now - max(start, self._peers[k].last) > GIVE_UP]
            if lost:
                actions.extend(self._not_here(id_, entry, lost))
                for key in lost:
                    given_up[key] = given_up.get(key, 0) + 1
        for key, count in given_up.items():  # the sysop hears of it: the sender does not
            actions.append(Note(f"{self._peers[key].nick} not seen at a gateway's address for"
                                f" {GIVE_UP / 3600:.0f} h: {count} message(s) kept for it"
                                " no longer wait for it"))  # fmt: skip
        return actions

    def _poll(self, now: float) -> list[Action]:
        if self._queries or now < self._next_poll or not (self._kept or self._hello or self._acks):
            return []
        self._next_poll = now + POLL_EVERY
        keys = list(self._peers)
        self._hello = self._hello and bool(keys)  # nobody to greet
        actions: list[Action] = []
        for i in range(0, len(keys), USERHOST_MAX):
            if not self._take(now):  # the rest once there are tokens
                self._next_poll = now + self._wait(now)
                break
            chunk = tuple(keys[i : i + USERHOST_MAX])
            self._queries.append((now, chunk))
            actions.append(Send("USERHOST " + " ".join(self._peers[k].nick for k in chunk)))
        return actions

    def _sends(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for entry in self._kept.values():
            for key, due in entry.due.items():
                peer = self._peers[key]
                if due > now or peer.verified is None:
                    continue
                if peer.verified + FRESH < now:  # verified a while ago: ask again first
                    if not self._queries:  # (a poll in flight brings the answer)
                        self._next_poll = min(self._next_poll, now)
                    continue
                if not self._take(now):
                    return actions
                wait = entry.backoff[key]
                entry.due[key], entry.backoff[key] = now + wait, min(RESEND_MAX, wait * 2)
                actions.append(Send(f"PRIVMSG {peer.nick} :{entry.pending.passed.payload()}"))
        return actions

    def wake_in(self, now: float) -> float | None:
        """Seconds until `tick` has something to do (None: nothing until an event)."""
        if not self._up:
            return None
        times: list[float] = []
        ready = self._answer_ready(now) if self._acks else None
        if ready is not None:  # (a stale one waits for the poll below)
            times.append(now + (self._wait(now) if ready else 0.0))
        if self._queries:
            times.append(self._queries[0][0] + QUERY_TIMEOUT)
        elif self._kept or self._hello or self._acks:
            times.append(self._next_poll)
        due = [due for entry in self._kept.values() for key, due in entry.due.items()
               if self._sendable(key, due, now)]  # fmt: skip
        if due:
            times.append(max(min(due), now + self._wait(now)))
        if self._kept:
            times.append(now + EXPIRE_CHECK)
        return max(0.0, min(times) - now) if times else None

    def _take(self, now: float) -> bool:
        """A token for one line: the service's above RESERVE, else the relay's own."""
        return self._bucket.take(now, RESERVE) or (
            self._share is not None and self._share.take(now)
        )

    def _wait(self, now: float) -> float:
        shared = self._bucket.wait(now, RESERVE)
        return shared if self._share is None else min(shared, self._share.wait(now))

    def _sendable(self, key: str, due: float, now: float) -> bool:
        """Whether a send to `key` waits only for its time (or for tokens): the peer is
        verified, and still freshly if the send is due now (else a poll comes first)."""
        verified = self._peers[key].verified
        return verified is not None and (due > now or verified + FRESH >= now)
