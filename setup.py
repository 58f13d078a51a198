"""Build the optional compiled snapshot scanner; without a compiler the package still installs.

Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "utxo_truth._snapscan",
            sources=["src/utxo_truth/_snapscan.c"],
            extra_compile_args=["-O3", "-std=gnu99"],
            # The pure-Python reader in sources/snapshot.py is the fallback.
            optional=True,
        )
    ]
)
