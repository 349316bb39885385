#!/usr/bin/env python3
"""Interoperability of the exchange's SM2 signatures with Python `gmssl` (pip install gmssl).

  exchange_interop.py make FIXTURE   sign a result batch with gmssl and write
                                     {private_key, public_key, content, signature} (hex) to FIXTURE
  exchange_interop.py check FIXTURE  verify with gmssl a batch the suite signed (same fields)

The suite's side is the test `exchange::tests::gmssl_signatures_verify_and_gmssl_verifies_ours`
(services/outcome/src/exchange.rs): it holds a batch this script signed, verifies it, and with
QIANCHENG_EXCHANGE_INTEROP_OUT=FILE writes a batch the suite signed for `check`. Not part of CI:
it needs gmssl.
"""
import json
import sys

from gmssl import func, sm2

PRIVATE = "b1cbf4d1a5ae7b5a8d1c2f4e6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a46"


def crypt(private_key=None, public_key=None):
    if public_key is None:
        g = sm2.default_ecc_table["g"]
        public_key = sm2.CryptSM2(private_key=private_key, public_key="")._kg(int(private_key, 16), g)
    return sm2.CryptSM2(private_key=private_key, public_key=public_key), public_key


def make(path):
    content = json.dumps(
        {
            "format": "qiancheng.exchange.result.v1",
            "batch_id": "GMSSL-0001",
            "department": "11421200MB0000011X",
            "source": "SOCIAL_INSURANCE",
            "records": [],
        },
        ensure_ascii=False,
    ).encode("utf-8")
    signer, public_key = crypt(private_key=PRIVATE)
    signature = signer.sign_with_sm3(content, func.random_hex(signer.para_len))
    assert signer.verify_with_sm3(signature, content)
    with open(path, "w") as out:
        json.dump(
            {"private_key": PRIVATE, "public_key": "04" + public_key, "content": content.hex(), "signature": signature},
            out,
        )
    print(f"gmssl signed {len(content)} bytes: {path}")


def check(path):
    with open(path) as f:
        fixture = json.load(f)
    public_key = fixture["public_key"]
    verifier, _ = crypt(public_key=public_key[2:] if public_key.startswith("04") else public_key)
    content = bytes.fromhex(fixture["content"])
    ok = verifier.verify_with_sm3(fixture["signature"], content)
    flipped = bytearray(content)
    flipped[0] ^= 1
    refused = not verifier.verify_with_sm3(fixture["signature"], bytes(flipped))
    print(f"gmssl verifies the suite's signature: {ok}; refuses a flipped byte: {refused}")
    sys.exit(0 if ok and refused else 1)


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
