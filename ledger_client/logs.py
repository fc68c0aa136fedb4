"""Decoding raw logs of any contract straight from its ABI (one ``eth_abi.decode`` a log)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from ledger_client.types import TxInfo


@dataclass(frozen=True)
class _Layout:
    name: str
    topics: tuple[tuple[str, str], ...]  # (name, type) of each indexed input
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


class LogDecoder:
    """Decodes raw logs of one contract straight from its ABI with ``eth_abi``.

    web3's per-log event processing is general and slow (see ``ledger_client.events``); this
    needs one dictionary lookup and one ``decode`` per log, whatever the event layout.
    """

    def __init__(self, abi: Iterable[Mapping[str, Any]]) -> None:
        self._layouts: dict[bytes, _Layout] = {}
        for item in abi:
            if item.get("type") != "event":
                continue
            inputs = item["inputs"]
            sig = f"{item['name']}({','.join(i['type'] for i in inputs)})"
            self._layouts[keccak(text=sig)] = _Layout(
                name=item["name"],
                topics=tuple((i["name"], i["type"]) for i in inputs if i["indexed"]),
                data_names=tuple(i["name"] for i in inputs if not i["indexed"]),
                data_types=tuple(i["type"] for i in inputs if not i["indexed"]),
            )

    def decode(self, log: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """``(event name, arguments)``, or None for a log of an event not in the ABI."""
        topics = [bytes(t) for t in log["topics"]]
        if not topics:
            return None
        layout = self._layouts.get(topics[0])
        if layout is None:
            return None
        args: dict[str, Any] = {}
        for (name, typ), topic in zip(layout.topics, topics[1:], strict=True):
            args[name] = _value(typ, decode([typ], topic)[0])
        values = decode(list(layout.data_types), bytes(log["data"]))
        for name, typ, value in zip(layout.data_names, layout.data_types, values, strict=True):
            args[name] = _value(typ, value)
        return layout.name, args


def _value(typ: str, value: Any) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    if typ.startswith("bytes"):
        return bytes(value)
    return value


def log_tx(log: Mapping[str, Any], timestamp: int) -> TxInfo:
    """Where the log's transaction landed; ``timestamp`` comes from the event itself."""
    return TxInfo("0x" + bytes(log["transactionHash"]).hex(), int(log["blockNumber"]), timestamp)
