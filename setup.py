"""Only the compiled part of the build; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cardio._fastpath",
            ["cardio/_fastpath.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra"],
            # Without a compiler the install still succeeds: cardio.fastpath then uses the
            # same functions in pure Python (cardio/_fastpath_py.py), only slower.
            optional=True,
        )
    ]
)
