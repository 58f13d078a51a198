"""utxo_truth: of the bitcoin you believe you have, how much is real on-chain coin.

The public API is what ``__all__`` lists; everything else is private and may change.

Example:
    >>> from utxo_truth import scan
    >>> holdings = scan(["wpkh([d4eedd3c/84h/1h/0h]tpub.../<0;1>/*)"], network="regtest",
    ...                 source="snapshot:utxo.dat")  # doctest: +SKIP
    >>> holdings.total_sats, holdings.block.height, holdings.block.hash  # doctest: +SKIP
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
import typing as _typing

from ._exceptions import (
    AccessDeniedError,
    AllSourcesFailedError,
    ChainMismatchError,
    ChecksumError,
    ContractCallError,
    DescriptorError,
    EncryptedWalletError,
    HistoryTooLargeError,
    InconsistentTipError,
    InexactAmountError,
    InputError,
    LabelFileError,
    MissingExtraError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
    ParquetFormatError,
    PolicyFailedError,
    PrivateKeyError,
    ServerBusyError,
    ServerRefusedError,
    SnapshotFormatError,
    SourceError,
    SourceProtocolError,
    SourceSpecError,
    SourceTimeoutError,
    SourceUnavailableError,
    TargetError,
    UtxoTruthError,
    VerificationError,
    WalletFileError,
)
from ._network import Network

__version__ = "0.1.0"

if _typing.TYPE_CHECKING:
    from ._api import measure, reconcile, scan, scan_reserve_proofs
    from ._models import (
        BlockRef,
        ChainScan,
        Consensus,
        Disagreement,
        Holdings,
        Origin,
        SourceAnswer,
        TargetHoldings,
        Utxo,
    )
    from ._report_models import Report
    from ._scanjson import holdings_from_json
    from .claims import (
        Book,
        Custodian,
        ExitStep,
        Kind,
        Portfolio,
        PortfolioError,
        Position,
        Right,
        Wallet,
        load_portfolio,
        parse_portfolio,
    )
    from .discovery import DEFAULT_GAP, DEFAULT_RANGE, discover
    from .evm import EvmBlock, EvmRpc, TokenSupply
    from .labels import LabelSet, load_labels
    from .liabilities import (
        LiabilityGrade,
        LiabilityProof,
        LiabilityProofError,
        LiabilityValueError,
        build_tree,
        load_liability_proof,
        verify_liability_proof,
    )
    from .messages import (
        MessageProof,
        MultisigProof,
        ProofStatus,
        freshness,
        verify_message,
        verify_multisig_signatures,
    )
    from .por_psbt import PorProof, check_por_coins, verify_por_psbt
    from .reconcile import reconcile_holdings, scan_targets
    from .reserve_proofs import (
        ReserveFileError,
        ReserveProofs,
        load_reserve_proofs,
        parse_reserve_proofs,
    )
    from .sources import (
        ChainSource,
        ElectrumSource,
        EsploraSource,
        Lookup,
        SnapshotSource,
        open_source,
    )
    from .sources.parquet import ParquetSource, export_parquet
    from .targets import Target, descriptor_checksum, parse_target, parse_targets
    from .wallets import WalletFile, load_wallet_file
    from .watchlist import WatchList, read_watch_list
    from .wrapped import ReserveList, TokenSpec, WrappedReport, read_reserves

# Loaded when first used (PEP 562): `import utxo_truth` and the CLI's start stay light (the
# verbs and the models too: pydantic is imported, and its schemas built, at the first of them).
_LAZY: dict[str, str] = {
    "measure": "_api",
    "reconcile": "_api",
    "scan": "_api",
    "scan_reserve_proofs": "_api",
    "BlockRef": "_models",
    "ChainScan": "_models",
    "Consensus": "_models",
    "Disagreement": "_models",
    "Holdings": "_models",
    "Origin": "_models",
    "SourceAnswer": "_models",
    "TargetHoldings": "_models",
    "Utxo": "_models",
    "Book": "claims",
    "Custodian": "claims",
    "ExitStep": "claims",
    "Kind": "claims",
    "Portfolio": "claims",
    "PortfolioError": "claims",
    "Position": "claims",
    "Right": "claims",
    "Wallet": "claims",
    "load_portfolio": "claims",
    "parse_portfolio": "claims",
    "DEFAULT_GAP": "discovery",
    "DEFAULT_RANGE": "discovery",
    "discover": "discovery",
    "LabelSet": "labels",
    "load_labels": "labels",
    "LiabilityGrade": "liabilities",
    "LiabilityProof": "liabilities",
    "LiabilityProofError": "liabilities",
    "LiabilityValueError": "liabilities",
    "build_tree": "liabilities",
    "load_liability_proof": "liabilities",
    "verify_liability_proof": "liabilities",
    "MessageProof": "messages",
    "MultisigProof": "messages",
    "ProofStatus": "messages",
    "freshness": "messages",
    "holdings_from_json": "_scanjson",
    "verify_message": "messages",
    "verify_multisig_signatures": "messages",
    "PorProof": "por_psbt",
    "check_por_coins": "por_psbt",
    "verify_por_psbt": "por_psbt",
    "Report": "_report_models",
    "reconcile_holdings": "reconcile",
    "scan_targets": "reconcile",
    "ReserveFileError": "reserve_proofs",
    "ReserveProofs": "reserve_proofs",
    "load_reserve_proofs": "reserve_proofs",
    "parse_reserve_proofs": "reserve_proofs",
    "ChainSource": "sources",
    "ElectrumSource": "sources",
    "EsploraSource": "sources",
    "Lookup": "sources",
    "SnapshotSource": "sources",
    "open_source": "sources",
    "ParquetSource": "sources.parquet",
    "export_parquet": "sources.parquet",
    "Target": "targets",
    "descriptor_checksum": "targets",
    "parse_target": "targets",
    "parse_targets": "targets",
    "WalletFile": "wallets",
    "load_wallet_file": "wallets",
    "WatchList": "watchlist",
    "read_watch_list": "watchlist",
    "EvmBlock": "evm",
    "EvmRpc": "evm",
    "TokenSupply": "evm",
    "ReserveList": "wrapped",
    "TokenSpec": "wrapped",
    "WrappedReport": "wrapped",
    "read_reserves": "wrapped",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = _importlib.import_module(f"{__name__}.{module}")
    # every public name of that module at once
    globals().update({n: getattr(loaded, n) for n, m in _LAZY.items() if m == module})
    return globals()[name]


# Public functions named like a submodule: `reconcile` (from _api) and utxo_truth.reconcile.
_KEPT = frozenset({"reconcile"})


class _Package(_types.ModuleType):
    """The package module: public names kept when a submodule of the same name is imported."""

    def __setattr__(self, name: str, value: object) -> None:
        # the first import of utxo_truth.reconcile (the module, loaded when first needed) sets
        # the package's attribute `reconcile` to it: the public name stays the function (set
        # already, or loaded by __getattr__ when first read)
        if isinstance(value, _types.ModuleType) and name in _KEPT:
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_RANGE",
    "AccessDeniedError",
    "AllSourcesFailedError",
    "BlockRef",
    "Book",
    "ChainMismatchError",
    "ChainScan",
    "ChainSource",
    "ChecksumError",
    "Consensus",
    "ContractCallError",
    "Custodian",
    "DescriptorError",
    "Disagreement",
    "ElectrumSource",
    "EncryptedWalletError",
    "EsploraSource",
    "EvmBlock",
    "EvmRpc",
    "ExitStep",
    "HistoryTooLargeError",
    "Holdings",
    "InconsistentTipError",
    "InexactAmountError",
    "InputError",
    "Kind",
    "LabelFileError",
    "LabelSet",
    "LiabilityGrade",
    "LiabilityProof",
    "LiabilityProofError",
    "LiabilityValueError",
    "Lookup",
    "MessageProof",
    "MissingExtraError",
    "MultisigNeedsDescriptorError",
    "MultisigProof",
    "Network",
    "NetworkMismatchError",
    "Origin",
    "ParquetFormatError",
    "ParquetSource",
    "PolicyFailedError",
    "PorProof",
    "Portfolio",
    "PortfolioError",
    "Position",
    "PrivateKeyError",
    "ProofStatus",
    "Report",
    "ReserveFileError",
    "ReserveList",
    "ReserveProofs",
    "Right",
    "ServerBusyError",
    "ServerRefusedError",
    "SnapshotFormatError",
    "SnapshotSource",
    "SourceAnswer",
    "SourceError",
    "SourceProtocolError",
    "SourceSpecError",
    "SourceTimeoutError",
    "SourceUnavailableError",
    "Target",
    "TargetError",
    "TargetHoldings",
    "TokenSpec",
    "TokenSupply",
    "Utxo",
    "UtxoTruthError",
    "VerificationError",
    "Wallet",
    "WalletFile",
    "WalletFileError",
    "WatchList",
    "WrappedReport",
    "__version__",
    "build_tree",
    "check_por_coins",
    "descriptor_checksum",
    "discover",
    "export_parquet",
    "freshness",
    "holdings_from_json",
    "load_labels",
    "load_liability_proof",
    "load_portfolio",
    "load_reserve_proofs",
    "load_wallet_file",
    "measure",
    "open_source",
    "parse_portfolio",
    "parse_reserve_proofs",
    "parse_target",
    "parse_targets",
    "read_reserves",
    "read_watch_list",
    "reconcile",
    "reconcile_holdings",
    "scan",
    "scan_reserve_proofs",
    "scan_targets",
    "verify_liability_proof",
    "verify_message",
    "verify_multisig_signatures",
    "verify_por_psbt",
]
