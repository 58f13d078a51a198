"""utxo_truth: of the bitcoin you believe you have, how much is real on-chain coin.

The public API is what ``__all__`` lists; everything else is private and may change.

Example:
    >>> from utxo_truth import scan
    >>> holdings = scan(["wpkh([d4eedd3c/84h/1h/0h]tpub.../<0;1>/*)"], network="regtest",
    ...                 source="snapshot:utxo.dat")  # doctest: +SKIP
    >>> holdings.total_sats, holdings.block.height, holdings.block.hash  # doctest: +SKIP
"""

from __future__ import annotations

from ._api import measure, reconcile, scan
from ._exceptions import (
    AccessDeniedError,
    AllSourcesFailedError,
    ChecksumError,
    DescriptorError,
    EncryptedWalletError,
    HistoryTooLargeError,
    InconsistentTipError,
    InputError,
    LabelFileError,
    MissingExtraError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
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
from ._report_models import Report
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
from .sources import ChainSource, ElectrumSource, EsploraSource, Lookup, SnapshotSource, open_source
from .targets import Target, descriptor_checksum, parse_target, parse_targets
from .wallets import WalletFile, load_wallet_file

__version__ = "0.1.0"

from ._exceptions import (
    ChainMismatchError,
    ContractCallError,
    InexactAmountError,
    ParquetFormatError,
)
from .evm import EvmBlock, EvmRpc, TokenSupply
from .sources.parquet import ParquetSource, export_parquet
from .wrapped import ReserveList, TokenSpec, WrappedReport, read_reserves

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
    "WrappedReport",
    "__version__",
    "build_tree",
    "check_por_coins",
    "descriptor_checksum",
    "discover",
    "export_parquet",
    "freshness",
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
    "reconcile",
    "reconcile_holdings",
    "scan",
    "scan_targets",
    "verify_liability_proof",
    "verify_message",
    "verify_multisig_signatures",
    "verify_por_psbt",
]
