"""Turning revert data into ``ContractRevertError`` with the Solidity error's name and arguments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector

from ledger_client.errors import ContractRevertError

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def _type_str(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_type_str(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


class RevertDecoder:
    """Knows the custom errors of a set of ABIs, by 4-byte selector."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_type_str(i) for i in item["inputs"]]
                names = [i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"])]
                sig = f"{item['name']}({','.join(types)})"
                self._errors[function_signature_to_4byte_selector(sig)] = (
                    item["name"],
                    names,
                    types,
                )

    def decode(self, data: bytes) -> ContractRevertError:
        """The typed error for raw revert ``data``."""
        selector, body = data[:4], data[4:]
        if selector == _ERROR_STRING:
            (reason,) = decode(["string"], body)
            return ContractRevertError("Error", {"reason": reason}, f"contract reverted: {reason}")
        if selector == _PANIC:
            (code,) = decode(["uint256"], body)
            return ContractRevertError("Panic", {"code": code}, f"contract panicked (code {code})")
        known = self._errors.get(selector)
        if known is None:
            shown = "0x" + data.hex() if data else "no data"
            return ContractRevertError("Unknown", {"data": shown}, f"contract reverted ({shown})")
        name, names, types = known
        values = decode(types, body) if types else ()
        return ContractRevertError(name, dict(zip(names, values, strict=True)))


def revert_data(exc: BaseException) -> bytes | None:
    """Revert bytes carried by a web3 exception, if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return None
