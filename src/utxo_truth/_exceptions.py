"""The whole error tree of utxo_truth.

Every error the library raises on purpose is a :class:`UtxoTruthError`. Errors about what the
caller gave us also inherit :class:`ValueError`; errors about a chain source that could not be
read or answered badly inherit the builtin that matches (``OSError`` for I/O) so that generic
handlers keep working::

    UtxoTruthError
    ├── MissingExtraError (ImportError)         an optional extra is not installed (names it)
    ├── InputError (ValueError)                 what the caller gave is wrong
    │   ├── PrivateKeyError                     private material refused (never echoed, never sent)
    │   ├── ChecksumError                       a descriptor / base58 / bech32 checksum is wrong
    │   ├── NetworkMismatchError                a key, address or snapshot of another network
    │   ├── MultisigNeedsDescriptorError        Ypub/Zpub/Upub/Vpub: one cosigner is not a wallet
    │   ├── DescriptorError                     a malformed or unsupported output descriptor
    │   ├── TargetError                         an address / script / key we cannot read
    │   ├── WalletFileError                     a wallet export we cannot read (file + field)
    │   │   └── EncryptedWalletError            an encrypted wallet file (not decrypted)
    │   ├── LabelFileError                      a BIP-329 label file we cannot read
    │   ├── SourceSpecError                     a ``--source`` string we cannot read
    │   ├── PortfolioError                      a portfolio file (or dict) is wrong
    │   ├── ReserveFileError                    a signed reserve-proof file cannot be read
    │   └── LiabilityProofError                 a liability proof file cannot be read at all
    │       └── LiabilityValueError             a figure that is not a canonical decimal in range
    └── SourceError                             a chain source failed or cannot be believed
        ├── SourceUnavailableError (OSError)    could not be reached / opened at all
        ├── SourceTimeoutError (TimeoutError)   did not answer in time
        ├── SourceProtocolError                 answered something malformed (garbage, bad JSON)
        ├── ServerRefusedError                  answered with an error (see subclasses)
        │   ├── HistoryTooLargeError            a script's history is over the server's limit
        │   ├── ServerBusyError                 rate-limited / "excessive resource usage"
        │   └── AccessDeniedError (PermissionError)  HTTP 401/403: credentials or key refused
        ├── VerificationError                   fails a consensus check (PoW, merkle, tx hash)
        ├── SnapshotFormatError (ValueError)    a UTXO snapshot file that is truncated or corrupt
        │   └── ParquetFormatError              Parquet coin files: metadata missing or disagreeing
        ├── InconsistentTipError                answers of one scan are true at different blocks
        ├── ChainMismatchError                  an EVM node serves another chain than the one named
        ├── ContractCallError                   an EVM contract call reverted or returned no word
        ├── InexactAmountError (ValueError)     a token amount is not a whole number of satoshis
        └── PolicyFailedError                   several sources: the policy (``all``) is not met
            └── AllSourcesFailedError           every source of a comparison failed

No error message ever contains private key material: inputs that look private are described by
their kind and length only. Every :class:`SourceError` raised by a source's public method
carries ``.source`` (the source's name, without credentials).

Refusals are typed from the server's status or error *code* where it has one (HTTP 401/403,
429/503; Electrum's -101/-102, ElectrumX's 10001); words are read only where a server gives no
code for the condition (electrs' 400 utxo limit), and then as whole phrases.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AllSourcesFailedError",
    "ChainMismatchError",
    "ChecksumError",
    "ContractCallError",
    "DescriptorError",
    "EncryptedWalletError",
    "HistoryTooLargeError",
    "InconsistentTipError",
    "InexactAmountError",
    "InputError",
    "LabelFileError",
    "LiabilityProofError",
    "LiabilityValueError",
    "MissingExtraError",
    "MultisigNeedsDescriptorError",
    "NetworkMismatchError",
    "ParquetFormatError",
    "PolicyFailedError",
    "PortfolioError",
    "PrivateKeyError",
    "ReserveFileError",
    "ServerBusyError",
    "ServerRefusedError",
    "SnapshotFormatError",
    "SourceError",
    "SourceProtocolError",
    "SourceSpecError",
    "SourceTimeoutError",
    "SourceUnavailableError",
    "TargetError",
    "UtxoTruthError",
    "VerificationError",
    "WalletFileError",
]


class UtxoTruthError(Exception):
    """Base class of every error raised by utxo_truth on purpose."""


class MissingExtraError(UtxoTruthError, ImportError):
    """An optional dependency is missing; ``extra`` names the extra that installs it.

    Example:
        >>> str(MissingExtraError("needs pandas: pip install 'utxo-truth[dataframe]'", extra="dataframe"))
        "needs pandas: pip install 'utxo-truth[dataframe]'"
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class InputError(UtxoTruthError, ValueError):
    """What the caller gave is wrong; the message says what and what to do instead."""


class PrivateKeyError(InputError):
    """Private key material (xprv, WIF, private descriptor) was given and refused.

    The message never contains the secret, and nothing derived from it is sent anywhere.
    """


class ChecksumError(InputError):
    """A checksum (descriptor ``#...``, base58check, bech32/bech32m) does not match."""


class NetworkMismatchError(InputError):
    """A key, address or snapshot belongs to another network than the one asked for."""

    def __init__(self, message: str, *, expected: str, found: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found


class MultisigNeedsDescriptorError(InputError):
    """A SLIP-132 multisig key (Ypub/Zpub/Upub/Vpub) was given alone.

    One cosigner's key does not define the wallet's scripts: pass a ``wsh(sortedmulti(...))``
    (or ``sh(wsh(...))``) descriptor with every cosigner's key instead.
    """


class DescriptorError(InputError):
    """An output descriptor is malformed or uses something we do not support."""


class TargetError(InputError):
    """An input is not a key, descriptor, address or script we can read."""


class WalletFileError(InputError):
    """A wallet export file cannot be read; the message names the file and the field."""


class EncryptedWalletError(WalletFileError):
    """The wallet file is encrypted; utxo_truth never decrypts: export the public keys."""


class LabelFileError(InputError):
    """A BIP-329 label file cannot be read; the message names the file and the line."""


class SourceSpecError(InputError):
    """A chain-source specification (``snapshot:PATH``, ``electrum://...``) cannot be used."""


class PortfolioError(InputError):
    """A portfolio file (or dict) is wrong; the message names the file, entry and field."""


class LiabilityProofError(InputError):
    """A liability proof file cannot be read at all (not JSON, unknown format)."""


class LiabilityValueError(LiabilityProofError):
    """A figure in a liability proof is not a canonical decimal in range.

    E.g. ``3.77799E-3``, ``+0.1``, ``019442.3``, ``-0``, a balance of 1e20 or more, a sum of
    2**64 or more.
    """


class ReserveFileError(InputError):
    """A reserve-proof file that cannot be read (shape, size, a row that is not a row)."""


class SourceError(UtxoTruthError):
    """A chain source failed, or answered something that cannot be believed.

    A scan that meets this error has no answer: it is never reported as a zero balance.

    ``source`` names the source it came from (``describe()``, never with credentials); it is
    set in one place, where a source's public method ends (:func:`utxo_truth.sources._errors.
    source_errors`), and is None for an error raised outside a source.
    """

    source: str | None = None


class SourceUnavailableError(SourceError, OSError):
    """The chain source could not be reached or opened at all."""


class SourceTimeoutError(SourceError, TimeoutError):
    """The chain source did not answer within the time allowed."""


class SourceProtocolError(SourceError):
    """The chain source answered something malformed: not JSON, wrong shape, wrong types."""


class ServerRefusedError(SourceError):
    """The server answered a request with an error."""

    def __init__(self, message: str, *, code: object = None) -> None:
        super().__init__(message)
        self.code = code


class HistoryTooLargeError(ServerRefusedError):
    """A script's history is larger than the server will return (a busy reused address).

    Use a server with a higher limit (ElectrumX ``MAX_SEND``, Fulcrum ``max_history``) or your
    own node.
    """


class ServerBusyError(ServerRefusedError):
    """The server is rate-limiting this client ("excessive resource usage", "server busy")."""


class AccessDeniedError(ServerRefusedError, PermissionError):
    """The server refused our credentials or API key (HTTP 401/403), whichever source it is.

    Check the key, the ``user:password`` or the cookie file; nothing of them is in the message.
    """


class VerificationError(SourceError):
    """What a source sent fails a consensus check; the source is wrong or lying."""


class SnapshotFormatError(SourceError, ValueError):
    """A UTXO snapshot file is truncated, corrupt or not a snapshot at all."""


class ParquetFormatError(SnapshotFormatError):
    """Parquet coin files (``snapshot export --parquet``) whose metadata is missing or disagrees."""


class InconsistentTipError(SourceError):
    """Answers that make up one scan are true at different blocks (the tip moved or reorged)."""


class PolicyFailedError(SourceError):
    """Several sources were compared and the policy is not met: under ``all`` a source failed.

    ``failures`` maps each failed source (as described, credentials redacted) to its error.
    """

    def __init__(self, message: str, *, failures: dict[str, str]) -> None:
        super().__init__(message)
        self.failures = dict(failures)


class AllSourcesFailedError(PolicyFailedError):
    """Every source of a comparison failed: there is no answer at all."""


class ChainMismatchError(SourceError):
    """An EVM node answers ``eth_chainId`` with another chain than the one named."""

    def __init__(self, message: str, *, expected: str, found: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found


class ContractCallError(SourceError):
    """An EVM ``eth_call`` reverted, or returned nothing / not one ABI word (no such function)."""


class InexactAmountError(SourceError, ValueError):
    """A token amount cannot be expressed in whole satoshis without rounding (or is negative)."""
