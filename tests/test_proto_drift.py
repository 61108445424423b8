"""The generated protobuf/gRPC code is committed beside the .proto; it must match what protoc
makes from the .proto today (run `make proto` after editing the .proto)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "protos"
GENERATED = ("inference_pb2.py", "inference_pb2_grpc.py", "inference_pb2.pyi")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("proto")
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        str(PROTO_DIR / "splitinfer" / "v1" / "inference.proto"),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return out / "splitinfer" / "v1"


@pytest.mark.parametrize("name", GENERATED)
def test_committed_generated_code_matches_the_proto(regenerated: Path, name: str) -> None:
    committed = (PROTO_DIR / "splitinfer" / "v1" / name).read_text()
    fresh = (regenerated / name).read_text()
    assert committed == fresh, (
        f"protos/splitinfer/v1/{name} is out of date or was edited by hand: run 'make proto'"
    )


def test_generated_code_imports_under_the_splitinfer_namespace() -> None:
    from splitinfer.v1 import inference_pb2, inference_pb2_grpc

    assert inference_pb2.DESCRIPTOR.package == "splitinfer.v1"
    assert hasattr(inference_pb2_grpc, "InferenceStub")
