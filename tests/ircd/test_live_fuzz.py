"""Random and malformed input against a live server: it never crashes, others never notice."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

COMMANDS = [
    b"PRIVMSG",
    b"NOTICE",
    b"JOIN",
    b"PART",
    b"MODE",
    b"TOPIC",
    b"NICK",
    b"USER",
    b"WHO",
    b"WHOIS",
    b"KICK",
    b"INVITE",
    b"CAP",
    b"AWAY",
    b"NAMES",
    b"TAGMSG",
    b"PING",
    b"ISON",
]
TARGETS = [b"#c", b"bystander", b"#c,#d", b"@#c", b"+#c", b"*", b"0", b"", b"#", b"\xff"]

printable = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
structured = st.builds(
    lambda cmd, target, rest: cmd + b" " + target + b" " + rest,
    st.sampled_from(COMMANDS),
    st.sampled_from(TARGETS),
    printable,
)
huge = st.integers(min_value=400, max_value=20_000).map(lambda n: b"PRIVMSG #c :" + b"x" * n)
bad_tags = st.builds(lambda t: b"@" + t + b" PRIVMSG #c :tagged", printable)
with_nul = st.builds(lambda a, b: a + b"\0" + b, printable, printable)
bad_utf8 = st.sampled_from([b"PRIVMSG #c :\xff\xfe", b"NICK \xc3", b"\xed\xa0\x80", b"JOIN #\x80"])
line = st.one_of(st.binary(max_size=300), structured, huge, bad_tags, with_nul, bad_utf8)
terminator = st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\r\n"])
payload = st.lists(st.tuples(line, terminator), min_size=1, max_size=12).map(
    lambda pairs: b"".join(text + end for text, end in pairs)
)


async def _one_example(port: int, connect, data: bytes, registered: bool) -> None:
    bystander = await (await connect(port)).register("bystander")
    await bystander.send("JOIN #c")
    await bystander.expect("366")
    fuzzer = await connect(port)
    if registered:
        await fuzzer.register("fuzzer")
        await fuzzer.send("JOIN #c")
        await fuzzer.expect("366")
    await fuzzer.send(data, b"\r\nPING :end-of-fuzz\r\n")
    # The fuzzer gets its PONG (every bad line got a numeric) or is closed with ERROR.
    while True:
        msg = await fuzzer.read(timeout=10)
        if msg is None or msg.command == "ERROR" or msg.params[-1:] == ("end-of-fuzz",):
            break
    await bystander.send("PING :still-here")
    while (await bystander.expect("PONG")).params[-1] != "still-here":
        pass
    # Make sure the server has forgotten both before the next example reuses the nicks.
    if msg is not None and msg.command != "ERROR":
        with contextlib.suppress(ConnectionError):
            await fuzzer.send("QUIT")
            await fuzzer.until_closed()
    await fuzzer.close()
    await bystander.send("QUIT")
    await bystander.until_closed()
    await bystander.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=payload, registered=st.booleans())
def test_garbage_never_hurts_the_server(
    module_live_server, live_client, data: bytes, registered: bool
) -> None:
    asyncio.run(_one_example(module_live_server.port, live_client, data, registered))
    assert module_live_server.proc.poll() is None
    assert not [line for line in module_live_server.log if "Traceback" in line or "ERROR" in line]


async def test_flooder_is_dropped_others_unaffected(start_live_server, live_client) -> None:
    server = start_live_server()  # default flood limits
    other = await (await live_client(server.port)).register("other")
    flooder = await (await live_client(server.port)).register("flooder")
    await flooder.send(b"".join(b"PRIVMSG other :" + b"z" * 400 + b"\r\n" for _ in range(200)))
    closing = await flooder.expect("ERROR")
    assert closing.params[0].endswith("(Excess Flood)")
    await other.send("PING :ok")
    while (await other.expect("PONG")).params[-1] != "ok":
        pass
    await flooder.close()
    await other.close()
