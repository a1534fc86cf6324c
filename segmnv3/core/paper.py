"""The paper's published figures (Howard et al. 2019, Tables 7 and 8), keyed by config name.

Table 7: Cityscapes val mIoU, params, MAdds at 1024x2048, and CPU time on one large
Pixel 3 core at full (1024x2048) and half (512x1024) resolution. Table 8 (test set)
adds the OS 32 variants; its CPU and half-resolution MAdds columns are given where the
paper's text states them, else None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's tables (None where the paper gives no figure)."""

    table: int
    row: int | None
    description: str
    miou: float
    params_m: float
    madds_full_b: float
    madds_half_b: float | None = None
    cpu_full_s: float | None = None
    cpu_half_ms: float | None = None


PAPER_ROWS: dict[str, PaperRow] = {
    "table7_row01_v2_raspp_f256_os16": PaperRow(
        7, 1, "V2, R-ASPP, F=256", 72.84, 2.11, 21.29, None, 3.90, 1020
    ),
    "table7_row02_v2_rf2_raspp_f256_os16": PaperRow(
        7, 2, "V2, RF2, R-ASPP, F=256", 72.56, 1.15, 13.68, None, 3.03, 793
    ),
    "table7_row03_v2_rf2_lraspp_f256_os16": PaperRow(
        7, 3, "V2, RF2, LR-ASPP, F=256", 72.97, 1.02, 12.83, None, 2.98, 786
    ),
    "table7_row04_v2_rf2_lraspp_f128_os16": PaperRow(
        7, 4, "V2, RF2, LR-ASPP, F=128", 72.74, 0.98, 12.57, None, 2.89, 766
    ),
    "table7_row05_v3large_raspp_f256_os16": PaperRow(
        7, 5, "V3-Large, R-ASPP, F=256", 72.64, 3.60, 18.43, None, 3.55, 906
    ),
    "table7_row06_v3large_rf2_raspp_f256_os16": PaperRow(
        7, 6, "V3-Large, RF2, R-ASPP, F=256", 71.91, 1.76, 11.24, None, 2.60, 668
    ),
    "table7_row07_v3large_rf2_lraspp_f256_os16": PaperRow(
        7, 7, "V3-Large, RF2, LR-ASPP, F=256", 72.37, 1.63, 9.74, None, 2.55, 659
    ),
    "table7_row08_v3large_rf2_lraspp_f128_os16": PaperRow(
        7, 8, "V3-Large, RF2, LR-ASPP, F=128", 72.36, 1.51, 9.74, 2.48, 2.47, 657
    ),
    "table7_row09_v2w050_rf2_lraspp_f128_os16": PaperRow(
        7, 9, "V2 0.5, RF2, LR-ASPP, F=128", 68.57, 0.28, 4.00, None, 1.59, 415
    ),
    "table7_row10_v2w035_rf2_lraspp_f128_os16": PaperRow(
        7, 10, "V2 0.35, RF2, LR-ASPP, F=128", 66.83, 0.16, 2.54, None, 1.27, 354
    ),
    "table7_row11_v3small_rf2_lraspp_f128_os16": PaperRow(
        7, 11, "V3-Small, RF2, LR-ASPP, F=128", 68.38, 0.47, 2.90, None, 1.21, 327
    ),
    "table8_v3large_rf2_lraspp_f128_os32": PaperRow(
        8, None, "V3-Large, OS 32 (test set)", 72.0, 1.51, 7.74, 1.98
    ),
    "table8_v3small_rf2_lraspp_f128_os32": PaperRow(
        8, None, "V3-Small, OS 32 (test set)", 68.3, 0.47, 2.06, None
    ),
}


def paper_row(config_path: str | Path) -> PaperRow | None:
    """The paper's figures for a config file named after its row, else None."""
    return PAPER_ROWS.get(Path(config_path).stem)
