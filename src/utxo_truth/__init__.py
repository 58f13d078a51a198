"""utxo_truth: of the bitcoin you believe you have, how much is real on-chain coin.

The public API is what ``__all__`` lists; everything else is private and may change.

Example:
    >>> from utxo_truth import scan
    >>> holdings = scan(["wpkh([d4eedd3c/84h/1h/0h]tpub.../<0;1>/*)"], network="regtest",
    ...                 source="snapshot:utxo.dat")  # doctest: +SKIP
    >>> holdings.total_sats, holdings.block.height, holdings.block.hash  # doctest: +SKIP
"""

from __future__ import annotations

from ._api import scan
from ._exceptions import (
    AccessDeniedError,
    ChecksumError,
    DescriptorError,
    HistoryTooLargeError,
    InconsistentTipError,
    InputError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
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
)
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
from ._network import Network
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
from .liabilities import (
    LiabilityProof,
    LiabilityProofError,
    build_tree,
    load_liability_proof,
    verify_liability_proof,
)
from .reconcile import Report, reconcile, scan_targets
from .sources import ChainSource, ElectrumSource, EsploraSource, Lookup, SnapshotSource, open_source
from .targets import Target, descriptor_checksum, parse_target, parse_targets

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_RANGE",
    "AccessDeniedError",
    "BlockRef",
    "Book",
    "ChainScan",
    "ChainSource",
    "ChecksumError",
    "Consensus",
    "Custodian",
    "DescriptorError",
    "Disagreement",
    "ElectrumSource",
    "EsploraSource",
    "ExitStep",
    "HistoryTooLargeError",
    "Holdings",
    "InconsistentTipError",
    "InputError",
    "Kind",
    "LiabilityProof",
    "LiabilityProofError",
    "Lookup",
    "MultisigNeedsDescriptorError",
    "Network",
    "NetworkMismatchError",
    "Origin",
    "Portfolio",
    "PortfolioError",
    "Position",
    "PrivateKeyError",
    "Report",
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
    "Utxo",
    "UtxoTruthError",
    "VerificationError",
    "Wallet",
    "__version__",
    "build_tree",
    "descriptor_checksum",
    "discover",
    "load_liability_proof",
    "load_portfolio",
    "open_source",
    "parse_portfolio",
    "parse_target",
    "parse_targets",
    "reconcile",
    "scan",
    "scan_targets",
    "verify_liability_proof",
]
