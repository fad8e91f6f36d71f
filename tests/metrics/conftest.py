import numpy as np
import pytest
from metric_fixtures import SHARED_TEST_PHOTOS, load_array


@pytest.fixture(scope="session")
def photo_crops() -> list[tuple[str, np.ndarray]]:
    """Colour crops of odd sizes from real photos of ../shared/data (skipped if absent)."""
    kodak = SHARED_TEST_PHOTOS / "Kodak24" / "kodim05.png"
    bsd = SHARED_TEST_PHOTOS / "CBSD68" / "101085.png"
    if not (kodak.exists() and bsd.exists()):
        pytest.skip("real test photos of ../shared/data are absent")
    first, second = load_array(kodak), load_array(bsd)
    return [
        ("kodim05 131x97", first[200:331, 150:247]),
        ("kodim05 77x53", first[40:117, 300:353]),
        ("101085 131x97", second[100:231, 250:347]),
        ("101085 53x77", second[17:70, 33:110]),
    ]
