"""Published test vectors: BIP32 (1-5), BIP44/49/84/86 accounts, SLIP-132, BIP380 checksums.

Private keys appear here only as the published vectors' own data, to check that they are
refused and that public derivation agrees with them; the library never accepts them.
"""

from __future__ import annotations

import itertools

import pytest
from embit import bip32, bip39
from embit.networks import NETWORKS

from utxo_truth import (
    ChecksumError,
    DescriptorError,
    InputError,
    MultisigNeedsDescriptorError,
    PrivateKeyError,
    TargetError,
    descriptor_checksum,
    parse_target,
)
from utxo_truth._derive import child_pubkey, parse_pubkey
from utxo_truth.targets import address_of

H = 0x80000000

# BIP32 test vectors 1-4 (https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki):
# (seed, [(path, xpub, xprv), ...])
BIP32 = [
    (
        "000102030405060708090a0b0c0d0e0f",
        [
            (
                [],
                "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
                "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
            ),
            (
                [0 + H],
                "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
                "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7",
            ),
            (
                [0 + H, 1],
                "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
                "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs",
            ),
            (
                [0 + H, 1, 2 + H],
                "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
                "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM",
            ),
            (
                [0 + H, 1, 2 + H, 2],
                "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
                "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334",
            ),
            (
                [0 + H, 1, 2 + H, 2, 1000000000],
                "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
                "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76",
            ),
        ],
    ),
    (
        "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542",
        [
            (
                [],
                "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
                "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U",
            ),
            (
                [0],
                "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH",
                "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt",
            ),
            (
                [0, 2147483647 + H],
                "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
                "xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFawNzmjuHc2YmYRmagcEPdU9",
            ),
            (
                [0, 2147483647 + H, 1],
                "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon",
                "xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbRCHuWS6T8XA2ECKADdw4Ef",
            ),
            (
                [0, 2147483647 + H, 1, 2147483646 + H],
                "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL",
                "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc",
            ),
            (
                [0, 2147483647 + H, 1, 2147483646 + H, 2],
                "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt",
                "xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLEcBYJUuekgW4BYPJcr9E7j",
            ),
        ],
    ),
    (
        "4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be",
        [
            (
                [],
                "xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13",
                "xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrtHHs7pXeTzjuxBrCmmhgC6",
            ),
            (
                [0 + H],
                "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y",
                "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L",
            ),
        ],
    ),
    (
        "3ddd5602285899a946114506157c7997e5444528f3003f6134712147db19b678",
        [
            (
                [],
                "xpub661MyMwAqRbcGczjuMoRm6dXaLDEhW1u34gKenbeYqAix21mdUKJyuyu5F1rzYGVxyL6tmgBUAEPrEz92mBXjByMRiJdba9wpnN37RLLAXa",
                "xprv9s21ZrQH143K48vGoLGRPxgo2JNkJ3J3fqkirQC2zVdk5Dgd5w14S7fRDyHH4dWNHUgkvsvNDCkvAwcSHNAQwhwgNMgZhLtQC63zxwhQmRv",
            ),
            (
                [0 + H],
                "xpub69AUMk3qDBi3uW1sXgjCmVjJ2G6WQoYSnNHyzkmdCHEhSZ4tBok37xfFEqHd2AddP56Tqp4o56AePAgCjYdvpW2PU2jbUPFKsav5ut6Ch1m",
                "xprv9vB7xEWwNp9kh1wQRfCCQMnZUEG21LpbR9NPCNN1dwhiZkjjeGRnaALmPXCX7SgjFTiCTT6bXes17boXtjq3xLpcDjzEuGLQBM5ohqkao9G",
            ),
            (
                [0 + H, 1 + H],
                "xpub6BJA1jSqiukeaesWfxe6sNK9CCGaujFFSJLomWHprUL9DePQ4JDkM5d88n49sMGJxrhpjazuXYWdMf17C9T5XnxkopaeS7jGk1GyyVziaMt",
                "xprv9xJocDuwtYCMNAo3Zw76WENQeAS6WGXQ55RCy7tDJ8oALr4FWkuVoHJeHVAcAqiZLE7Je3vZJHxspZdFHfnBEjHqU5hG1Jaj32dVoS6XLT1",
            ),
        ],
    ),
]

# BIP32 test vector 5: keys that must not be accepted. (key, why)
BIP32_INVALID = [
    (
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm",
        "pubkey version / prvkey mismatch",
    ),
    (
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGTQQD3dC4H2D5GBj7vWvSQaaBv5cxi9gafk7NF3pnBju6dwKvH",
        "prvkey version / pubkey mismatch",
    ),
    (
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn",
        "invalid pubkey prefix 04",
    ),
    (
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGpWnsj83BHtEy5Zt8CcDr1UiRXuWCmTQLxEK9vbz5gPstX92JQ",
        "invalid prvkey prefix 04",
    ),
    (
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4",
        "invalid pubkey prefix 01",
    ),
    (
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD9y5gkZ6Eq3Rjuahrv17fEQ3Qen6J",
        "invalid prvkey prefix 01",
    ),
    (
        "xprv9s2SPatNQ9Vc6GTbVMFPFo7jsaZySyzk7L8n2uqKXJen3KUmvQNTuLh3fhZMBoG3G4ZW1N2kZuHEPY53qmbZzCHshoQnNf4GvELZfqTUrcv",
        "zero depth with non-zero parent fingerprint",
    ),
    (
        "xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ",
        "zero depth with non-zero parent fingerprint",
    ),
    (
        "xprv9s21ZrQH4r4TsiLvyLXqM9P7k1K3EYhA1kkD6xuquB5i39AU8KF42acDyL3qsDbU9NmZn6MsGSUYZEsuoePmjzsB3eFKSUEh3Gu1N3cqVUN",
        "zero depth with non-zero index",
    ),
    (
        "xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8",
        "zero depth with non-zero index",
    ),
    (
        "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4",
        "unknown extended key version",
    ),
    (
        "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJiEDXkTiJTVV9rHEBUem2mwVbbNfvT2MTcAqj3nesx8uBf9",
        "unknown extended key version",
    ),
    (
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzF93Y5wvzdUayhgkkFoicQZcP3y52uPPxFnfoLZB21Teqt1VvEHx",
        "private key 0 not in 1..n-1",
    ),
    (
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD5SDKr24z3aiUvKr9bJpdrcLg1y3G",
        "private key n not in 1..n-1",
    ),
    (
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY",
        "invalid pubkey 020000...07",
    ),
    (
        "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHL",
        "invalid checksum",
    ),
]


def _vector_steps() -> list[tuple[str, int, str]]:
    """(parent xpub, non-hardened index, child xpub) for every public step in vectors 1-4."""
    steps = []
    for _seed, chain in BIP32:
        for (p_path, p_xpub, _), (c_path, c_xpub, _) in itertools.pairwise(chain):
            if c_path[:-1] == p_path and c_path[-1] < H:
                steps.append((p_xpub, c_path[-1], c_xpub))
    return steps


@pytest.mark.parametrize(("parent", "index", "child"), _vector_steps())
def test_bip32_public_child_derivation(parent: str, index: int, child: str) -> None:
    p = bip32.HDKey.from_string(parent)
    c = bip32.HDKey.from_string(child)
    sec = p.key.sec()
    assert child_pubkey(sec, parse_pubkey(sec), p.chain_code, index) == c.key.sec()


@pytest.mark.parametrize(("seed", "chain"), BIP32)
def test_bip32_vectors_consistent_with_seed(
    seed: str, chain: list[tuple[list[int], str, str]]
) -> None:
    root = bip32.HDKey.from_seed(bytes.fromhex(seed))
    for path, xpub, xprv in chain:
        key = root.derive(path) if path else root
        assert key.to_string() == xprv
        assert key.to_public().to_string() == xpub
        # the public half is a watch target; a pkh() scan of it derives the same first script
        t = parse_target(f"pkh({xpub}/0/*)", "main")
        first = key.to_public().derive([0, 0]).key.sec()
        assert t.scripts(0, 0, 1)[0] == bytes.fromhex("76a914") + _h160(first) + bytes.fromhex(
            "88ac"
        )
        with pytest.raises(PrivateKeyError) as exc:
            parse_target(xprv, "main")
        assert xprv[4:] not in str(exc.value)


def _h160(b: bytes) -> bytes:
    from utxo_truth._derive import hash160

    return hash160(b)


@pytest.mark.parametrize(("key", "why"), BIP32_INVALID)
def test_bip32_vector5_invalid_keys_refused(key: str, why: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_target(key, "main")
    if key.startswith("xprv"):
        assert isinstance(exc.value, PrivateKeyError), why
    assert key[8:] not in str(exc.value)


# BIP44/49/84/86 accounts of the mnemonic "abandon x11 about" (the vectors of BIP84, BIP86 and
# SLIP-132): account key, first receive address, first change address.
MNEMONIC = "abandon " * 11 + "about"
ACCOUNTS = [
    (
        "m/44h/0h/0h",
        "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj",
        "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA",
        "1J3J6EvPrv8q6AC3VCjWV45Uf3nssNMRtH",
    ),
    (
        "m/49h/0h/0h",
        "ypub6Ww3ibxVfGzLrAH1PNcjyAWenMTbbAosGNB6VvmSEgytSER9azLDWCxoJwW7Ke7icmizBMXrzBx9979FfaHxHcrArf3zbeJJJUZPf663zsP",
        "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf",
        "34K56kSjgUCUSD8GTtuF7c9Zzwokbs6uZ7",
    ),
    (
        "m/84h/0h/0h",
        "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
        "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el",
    ),
]


@pytest.mark.parametrize(("path", "slip132", "receive0", "change0"), ACCOUNTS)
def test_bip44_49_84_slip132_accounts(path: str, slip132: str, receive0: str, change0: str) -> None:
    root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(MNEMONIC))
    version = NETWORKS["main"][slip132[:4]]
    assert root.derive(path).to_public().to_string(version=version) == slip132
    t = parse_target(slip132, "main")
    assert t.kind == "xpub"
    assert t.branches == ("receive", "change")
    assert address_of(t.scripts(0, 0, 1)[0], "main") == receive0
    assert address_of(t.scripts(1, 0, 1)[0], "main") == change0


def test_bip84_second_receive_address() -> None:
    t = parse_target(ACCOUNTS[2][1], "main")
    assert address_of(t.scripts(0, 1, 2)[0], "main") == "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"


def test_bip86_account() -> None:
    xpub = "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ"
    root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(MNEMONIC))
    assert root.derive("m/86h/0h/0h").to_public().to_string() == xpub
    t = parse_target(f"tr([73c5da0a/86h/0h/0h]{xpub}/<0;1>/*)", "main")
    assert [address_of(s, "main") for s in t.scripts(0, 0, 2)] == [
        "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
        "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh",
    ]
    assert address_of(t.scripts(1, 0, 1)[0], "main") == (
        "bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7"
    )


def test_bip49_testnet_vector() -> None:
    # BIP49: account 0 of "abandon ... about" on testnet, first receive address
    root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(MNEMONIC), version=NETWORKS["test"]["xprv"])
    upub = root.derive("m/49h/1h/0h").to_public().to_string(version=NETWORKS["test"]["ypub"])
    assert upub.startswith("upub")
    t = parse_target(upub, "testnet")
    assert t.script_type == "sh-wpkh"
    assert address_of(t.scripts(0, 0, 1)[0], "test") == "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2"


@pytest.mark.parametrize("prefix", ["Ypub", "Zpub", "Upub", "Vpub"])
def test_slip132_multisig_keys_need_a_descriptor(prefix: str) -> None:
    net = "main" if prefix in ("Ypub", "Zpub") else "test"
    root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(MNEMONIC))
    embit_name = {"Ypub": "Ypub", "Zpub": "Zpub", "Upub": "Ypub", "Vpub": "Zpub"}[prefix]
    key = root.derive("m/48h/0h/0h/2h").to_public().to_string(version=NETWORKS[net][embit_name])
    assert key.startswith(prefix)
    with pytest.raises(MultisigNeedsDescriptorError, match="descriptor"):
        parse_target(key, net)


# BIP380 checksum vectors, and Bitcoin Core's descriptor_tests example
def test_bip380_valid_checksum() -> None:
    assert descriptor_checksum("raw(deadbeef)") == "89f8spxm"
    assert parse_target("raw(deadbeef)#89f8spxm", "main").text == "raw(deadbeef)#89f8spxm"
    assert parse_target("raw(deadbeef)", "main").text == "raw(deadbeef)#89f8spxm"


@pytest.mark.parametrize(
    "bad",
    [
        "raw(deadbeef)#",  # missing checksum
        "raw(deadbeef)#89f8spxmx",  # too long
        "raw(deadbeef)#89f8spx",  # too short
        "raw(deedbeef)#89f8spxm",  # error in payload
        "raw(deadbeef)##9f8spxm",  # error in checksum
    ],
)
def test_bip380_invalid_checksums(bad: str) -> None:
    with pytest.raises(ChecksumError):
        parse_target(bad, "main")


def test_bip380_invalid_character() -> None:
    with pytest.raises(DescriptorError):
        parse_target("raw(Ü)#00000000", "main")


def test_core_descriptor_checksum_example() -> None:
    public = (
        "sh(multi(2,[00000000/111'/222]xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL,"
        "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y/0))"
    )
    private = (
        "sh(multi(2,[00000000/111'/222]xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc,"
        "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L/0))"
    )
    assert descriptor_checksum(public) == "tjg09x5t"
    assert descriptor_checksum(private) == "ggrsrxfy"
    t = parse_target(f"{public}#tjg09x5t", "main")
    assert t.script_type == "sh-multi" and not t.ranged
    with pytest.raises(PrivateKeyError) as exc:
        parse_target(f"{private}#ggrsrxfy", "main")
    assert "xprv" not in str(exc.value)


def test_descriptor_kinds_targets() -> None:
    assert (
        parse_target("addr(bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu)", "main").script_type
        == "p2wpkh"
    )
    with pytest.raises(TargetError):
        parse_target("deadbeef", "main")  # not a recognised script: raw() is the way
