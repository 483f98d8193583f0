"""Properties of the shape-profile validator: a random min/opt/max is accepted exactly when
ranks match, static dims are kept, dims sharing a name agree, and 1 <= min <= opt <= max."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from trtgui.core.errors import ProfileError
from trtgui.core.model.profiles import InputShape, ShapeProfile, suggest_profiles, validate_profiles
from trtgui.core.tensors import TensorSpec

Dim = int | str | None


@dataclass(frozen=True)
class FakeModel:
    inputs: tuple[TensorSpec, ...]


model_dims: st.SearchStrategy[Dim] = st.one_of(st.integers(1, 16), st.none(), st.just("sym"))
values = st.integers(-2, 20)


@st.composite
def cases(draw: st.DrawFn) -> tuple[tuple[Dim, ...], tuple[tuple[int, ...], ...]]:
    shape = draw(st.lists(model_dims, min_size=1, max_size=4))
    # Give each symbolic dim its own name, so only the per-dim rules apply here.
    shape = [f"d{i}" if d == "sym" else d for i, d in enumerate(shape)]
    rank = len(shape)
    ranks = draw(
        st.one_of(
            st.just((rank, rank, rank)),
            st.tuples(*[st.integers(max(0, rank - 1), rank + 1)] * 3),
        )
    )
    triple = []
    for r in ranks:
        dims = []
        for i in range(r):
            static = shape[i] if i < rank and isinstance(shape[i], int) else None
            # Often reuse the static value, so accepted profiles are common enough.
            if static is not None and draw(st.booleans()):
                dims.append(static)
            else:
                dims.append(draw(values))
        triple.append(tuple(dims))
    return tuple(shape), tuple(triple)


def _accepted(
    shape: tuple[Dim, ...], low: tuple[int, ...], opt: tuple[int, ...], high: tuple[int, ...]
) -> bool:
    if not len(low) == len(opt) == len(high) == len(shape):
        return False
    for dim, a, b, c in zip(shape, low, opt, high, strict=True):
        if isinstance(dim, int) and not a == b == c == dim:
            return False
        if not 1 <= a <= b <= c:
            return False
    return True


@settings(max_examples=100)
@given(cases())
def test_accepted_iff_possible(case: tuple[tuple[Dim, ...], tuple[tuple[int, ...], ...]]) -> None:
    shape, (low, opt, high) = case
    model = FakeModel((TensorSpec("input", "float32", shape),))
    profile = ShapeProfile((InputShape("input", low, opt, high),))
    try:
        validate_profiles(model, [profile])
        accepted = True
    except ProfileError as err:
        accepted = False
        assert "\n" not in err.message and "'input'" in err.message, err.message
    assert accepted == _accepted(shape, low, opt, high), (shape, low, opt, high)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8)), min_size=2, max_size=2
    )
)
def test_shared_symbolic_name_must_agree(pairs: list[tuple[int, int, int]]) -> None:
    """Two inputs whose first dim is the same symbol `batch` need the same min/opt/max."""
    model = FakeModel(
        (TensorSpec("a", "float32", ("batch", 4)), TensorSpec("b", "float32", ("batch", 2)))
    )
    (a1, a2, a3), (b1, b2, b3) = (sorted(p) for p in pairs)
    profile = ShapeProfile(
        (InputShape("a", (a1, 4), (a2, 4), (a3, 4)), InputShape("b", (b1, 2), (b2, 2), (b3, 2)))
    )
    try:
        validate_profiles(model, [profile])
        accepted = True
    except ProfileError:
        accepted = False
    assert accepted == ((a1, a2, a3) == (b1, b2, b3))


@settings(max_examples=60)
@given(st.lists(st.lists(model_dims, min_size=1, max_size=4), min_size=1, max_size=3))
def test_suggested_profiles_are_accepted(shapes: list[list[Dim]]) -> None:
    """Whatever the model, the suggestion passes the validator."""
    inputs = tuple(
        TensorSpec(f"in{n}", "float32", tuple("batch" if d == "sym" else d for d in shape))
        for n, shape in enumerate(shapes)
    )
    model = FakeModel(inputs)
    validate_profiles(model, suggest_profiles(model))
