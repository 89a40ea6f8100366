import numpy as np

def flatten_token_lists(
    sequences: list[object] | tuple[object, ...],
) -> tuple[np.ndarray | None, np.ndarray | None, int]: ...
def fill_packed_rows(
    values: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    items: np.ndarray,
    bounds: np.ndarray,
    capacity: int,
    padding_value: int,
    label_padding_value: int,
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def fill_packed_rows_from_lists(
    sequences: list[object] | tuple[object, ...],
    lengths: np.ndarray,
    items: np.ndarray,
    bounds: np.ndarray,
    capacity: int,
    padding_value: int,
    label_padding_value: int,
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None: ...
