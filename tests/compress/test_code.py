import pytest

from clevrlang.compress import Code
from clevrlang.language.errors import DataError


def _code() -> Code:
    return Code(name="conv_lstm", shape=(32, 32, 3), data=bytes(range(64)), nbytes=64,
                total_bytes=64, iterations=8, bits_per_iteration=64, params={"weights": "ab"})


def test_save_load_round_trip(tmp_path):
    code = _code()
    path = code.save(tmp_path / "x.clc")
    assert Code.load(path) == code
    assert code.bpp == 0.5


@pytest.mark.parametrize("cut", [0, 3, 12, 20, -1])
def test_truncated_file_is_a_data_error(tmp_path, cut):
    blob = _code().to_bytes()
    (tmp_path / "t.clc").write_bytes(blob[:cut])
    with pytest.raises(DataError, match="truncated|empty"):
        Code.load(tmp_path / "t.clc")


def test_foreign_file_is_a_data_error(tmp_path):
    (tmp_path / "f.clc").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DataError, match="not a clevrlang Code file") as e:
        Code.load(tmp_path / "f.clc")
    assert "f.clc" in e.value.render()


def test_corrupted_payload_is_a_data_error(tmp_path):
    blob = bytearray(_code().to_bytes())
    blob[-1] ^= 0xFF
    (tmp_path / "c.clc").write_bytes(bytes(blob))
    with pytest.raises(DataError, match="CRC"):
        Code.load(tmp_path / "c.clc")


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        Code.load(tmp_path / "nope.clc")
