"""How a gateway answers hostile first frames: the reference and a real release, side by side.

    python bench/answers.py [--release 2026.9.6]

Each input is one connection to a token gateway on loopback: a lone-surrogate request id, a
lone surrogate in auth.token and in a permissions key, a device public key whose SPKI names an
unknown algorithm (with a wrong token, so unauthenticated), a first frame nested 2,000 levels
deep, a 1 MiB frame header followed by silence, and a local node-host/node device asking
operator.admin. Prints, per input and gateway: the answer (response id/ok/error code, close
code and reason) and the seconds it took. The reference should answer as the release does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handshakes

from conformance.protocol.frames import ConnectPlan
from conformance.protocol.identity import DeviceIdentity

TIMEOUT_S = 20.0


def _unknown_algorithm_pem() -> str:
    # SPKI: SEQUENCE { SEQUENCE { OID 1.3.6.1.4.1.99999.1 }, BIT STRING (32 bytes) }
    oid = bytes([0x06, 0x09, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8D, 0x1F, 0x01])
    alg = bytes([0x30, len(oid)]) + oid
    bits = bytes([0x03, 33, 0x00]) + secrets.token_bytes(32)
    der = bytes([0x30, len(alg) + len(bits)]) + alg + bits
    body = base64.b64encode(der).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def _connect(nonce: str, token: str, **kw: Any) -> dict[str, Any]:
    return ConnectPlan(auth={"token": token}, **kw).frame(nonce)


def inputs(token: str) -> dict[str, Any]:
    """name -> a function of the nonce giving the raw first message (str), or a raw-bytes plan."""

    def surrogate_id(nonce: str) -> str:
        text = json.dumps(_connect(nonce, token, request_id="RIDPLACEHOLDER"))
        return text.replace('"RIDPLACEHOLDER"', '"\\ud800"', 1)

    def surrogate_token(nonce: str) -> str:
        frame = _connect(nonce, "PLACEHOLDER")
        return json.dumps(frame).replace("PLACEHOLDER", "\\ud800abc")

    def surrogate_permission(nonce: str) -> str:
        frame = _connect(nonce, token)
        frame["params"]["permissions"] = {"PLACEHOLDER": True}
        return json.dumps(frame).replace("PLACEHOLDER", "\\udfff")

    def unknown_pem(nonce: str) -> str:
        ident = DeviceIdentity.generate()
        frame = ConnectPlan(auth={"token": "wrong-" + token}, identity=ident).frame(nonce)
        frame["params"]["device"]["publicKey"] = _unknown_algorithm_pem()
        return json.dumps(frame)

    def deep(nonce: str) -> str:
        return "[" * 2000 + "]" * 2000

    def node_admin(nonce: str) -> str:
        plan = ConnectPlan(
            client_id="node-host",
            client_mode="node",
            role="node",
            scopes=("operator.admin",),
            auth={"token": token},
            identity=DeviceIdentity.generate(),
        )
        return json.dumps(plan.frame(nonce))

    return {
        "lone surrogate in id": surrogate_id,
        "lone surrogate in auth.token": surrogate_token,
        "lone surrogate in a permissions key": surrogate_permission,
        "unknown-algorithm PEM, wrong token": unknown_pem,
        "2,000-deep nesting": deep,
        "node-host/node asks operator.admin": node_admin,
        "1 MiB frame header, then silence": None,  # raw bytes, below
    }


async def probe(port: int, build) -> str:
    started = time.monotonic()
    try:
        async with connect(f"ws://127.0.0.1:{port}", max_size=None, open_timeout=10) as ws:
            challenge = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
            nonce = challenge["payload"]["nonce"]
            if build is None:
                # A text frame announcing 1 MiB (masked, as a client must), then nothing.
                header = bytes([0x81, 0xFF]) + struct.pack("!Q", 1 << 20) + secrets.token_bytes(4)
                ws.transport.write(header)
            else:
                await ws.send(build(nonce))
            answers = []
            try:
                while True:
                    msg = await asyncio.wait_for(ws.recv(), TIMEOUT_S)
                    frame = json.loads(msg)
                    if frame.get("type") == "res":
                        err = frame.get("error") or {}
                        code = (err.get("details") or {}).get("code")
                        payload = frame.get("payload") or {}
                        answers.append(
                            f"res id={frame.get('id')!r} ok={frame.get('ok')} "
                            + (
                                f"{err.get('code')}/{code} {err.get('message', '')[:60]!r}"
                                if err
                                else f"{payload.get('type')} scopes="
                                f"{(payload.get('auth') or {}).get('scopes')}"
                            )
                        )
                        if frame.get("ok"):
                            break  # accepted: the answer is the hello-ok
            except ConnectionClosed as exc:
                rcvd = exc.rcvd
                close = f"close {rcvd.code} {rcvd.reason[:60]!r}" if rcvd else "no close frame"
                answers.append(close)
            except TimeoutError:
                answers.append(f"no answer in {TIMEOUT_S:g} s")
    except Exception as exc:  # the figure is what happened, whatever it was
        answers = [f"{type(exc).__name__}: {str(exc)[:80]}"]
    return f"{'; '.join(answers)}  [{time.monotonic() - started:.2f} s]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--release", help="also an npm release, e.g. 2026.9.6")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="occ-answers-"))
    servers = [handshakes.start_reference(tmp)]
    if args.release:
        servers.append(handshakes.start_release(args.release))
    try:
        for name in inputs(""):
            print(name)
            for server in servers:
                built = inputs(server.token or "")[name]
                print(f"  {server.name:20} {asyncio.run(probe(server.port, built))}", flush=True)
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
