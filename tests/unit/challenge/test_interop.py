"""TransformerLens interop: our model and the exported HookedTransformer agree on every input, in the logits and
in every cached activation, hook name by hook name; import(export(p)) == p exactly; foreign settings refused."""

import math

import jax
import numpy as np
import pytest

from tms.challenge import data as D
from tms.challenge import interop as I
from tms.challenge import model as M
from tms.challenge import weights as W

transformer_lens = pytest.importorskip("transformer_lens")  # the "interop" extra; CI installs it
torch = pytest.importorskip("torch")
# transformer-lens 3.9.0 (pinned) announces HookedTransformer's removal in 4.0 whenever one is built
pytestmark = pytest.mark.filterwarnings("ignore:HookedTransformer is deprecated:DeprecationWarning")

RTOL = 1e-5  # float32: both sides round differently (einsum orders, fused kernels)
FLOOR = 4e-6  # absolute floor, as a fraction of the activation's largest magnitude (~30 float32 ulps there)


def _assert_close(ours, theirs, name):
    """|ours − theirs| ≤ atol + RTOL·|theirs| everywhere (np.testing.assert_allclose's rule, which is slow on
    the 39-million-entry MLP caches), with atol = FLOOR · max|theirs|; every entry finite on both sides."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, (name, ours.shape, theirs.shape)
    assert np.isfinite(ours).all() and np.isfinite(theirs).all(), name
    err = np.abs(ours - theirs)
    bad = err > FLOOR * np.abs(theirs).max() + RTOL * np.abs(theirs)
    assert not bad.any(), f"{name}: {bad.sum()} of {bad.size} entries differ; largest difference {err.max():.3g}"


def _compare_on_all_inputs(params, model):
    """Run our model and ``model`` on all 12,769 inputs; compare logits and every hook's activation."""
    toks = D.tokens(D.all_pairs())
    logits, cache = M.forward(params, toks)
    with torch.no_grad():
        tl_logits, tl_cache = model.run_with_cache(torch.as_tensor(toks, dtype=torch.long))
    tl = {k: v.numpy() for k, v in tl_cache.items()}
    assert set(M.HOOK_NAMES) <= set(tl) and set(tl) - set(M.HOOK_NAMES) == set(I.EXTRA_HOOKS)
    _assert_close(logits, tl_logits.numpy(), "logits")
    ours = {**{k: np.asarray(v) for k, v in cache.items()}, "logits": np.asarray(logits)}
    for name in M.HOOK_NAMES:
        a, b = ours[name], tl[name]
        if name == "blocks.0.attn.hook_attn_scores":  # masked: −1e10 here, −inf there; compare the rest
            causal = np.broadcast_to(np.tril(np.ones((3, 3), bool)), a.shape)
            assert np.all(a[~causal] == M.IGNORE) and np.all(np.isneginf(b[~causal]))
            a, b = a[causal], b[causal]
        _assert_close(a, b, name)
    for tl_name, our_name in I.EXTRA_HOOKS.items():
        _assert_close(ours[our_name], tl[tl_name], tl_name)
    return ours, tl


@pytest.fixture(scope="module")
def shipped():
    params, _ = W.load(W.shipped_weights_path())
    return params


def test_exported_model_matches_ours_on_every_input_and_hook(shipped):
    model = I.to_hooked_transformer(shipped)
    assert model.cfg.n_layers == 1 and model.cfg.normalization_type is None and model.cfg.d_mlp == 1024
    assert math.isclose(model.cfg.attn_scale, 4.0) and not model.training
    ours, tl = _compare_on_all_inputs(shipped, model)
    # the labels agree on every input (the smallest |logit[1] − logit[0]| of this model is far above float noise)
    logits = tl["unembed.hook_out"][:, -1]
    np.testing.assert_array_equal(logits[:, 1] > logits[:, 0], M.predict(shipped, D.tokens(D.all_pairs())) == 1)


def test_round_trip_is_exact(shipped):
    model = I.to_hooked_transformer(shipped)
    for back in (I.from_transformer_lens(model), I.from_transformer_lens(model.state_dict())):
        assert list(back) == list(M.PARAM_NAMES)
        for k in M.PARAM_NAMES:
            assert back[k].dtype == np.float32
            np.testing.assert_array_equal(back[k], shipped[k], err_msg=k)
    cfg, state = I.to_transformer_lens(shipped)
    assert cfg.d_vocab == cfg.d_vocab_out == 114 and cfg.n_ctx == 3
    assert {k for k in state if k.endswith(("b_Q", "b_K", "b_V", "b_O", "b_U"))} == set(I.ZERO_BIASES)
    assert all(not state[k].any() for k in I.ZERO_BIASES)


def test_import_of_a_transformer_lens_model(shipped):
    """A model built by TransformerLens itself (its own initialisation, non-zero MLP biases) imports into
    params with which our forward pass reproduces it."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    small = M.Config(d_model=32, n_heads=4, d_head=8, d_mlp=64)
    kwargs = I.transformer_lens_config(small)
    model = HookedTransformer(HookedTransformerConfig(**kwargs, device="cpu", seed=3)).eval()
    with torch.no_grad():
        model.blocks[0].mlp.b_in.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(1))
        model.blocks[0].mlp.b_out.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(2))
    params = I.from_transformer_lens(model)
    assert M.Config.from_params(params) == small
    assert np.abs(params["b_in"]).max() > 0.1
    _compare_on_all_inputs({k: jax.numpy.asarray(v) for k, v in params.items()}, model)


def test_import_refuses_what_our_model_cannot_represent(shipped):
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    state = {k: v.clone() for k, v in I.to_hooked_transformer(shipped).state_dict().items()}
    state["unembed.b_U"][5] = 0.5
    with pytest.raises(ValueError, match=r"no biases \['unembed.b_U'\]"):
        I.from_transformer_lens(state)
    del state["unembed.b_U"]
    state.pop("blocks.0.mlp.b_in")
    state["blocks.1.attn.W_Q"] = state["blocks.0.attn.W_Q"]
    with pytest.raises(ValueError,
                       match=r"missing keys \['blocks.0.mlp.b_in'\]; unexpected keys \['blocks.1.attn.W_Q'\]"):
        I.from_transformer_lens(state)
    small = M.Config(d_model=16, n_heads=2, d_head=8, d_mlp=32)
    for change, message in (({"normalization_type": "LN"}, "normalization_type='LN'"),
                            ({"act_fn": "gelu"}, "act_fn='gelu'"), ({"attn_scale": 1.0}, "attn_scale=1.0")):
        cfg = HookedTransformerConfig(**{**I.transformer_lens_config(small), **change}, device="cpu")
        with pytest.raises(ValueError, match=f"architecture differs.*{message}"):
            I.from_transformer_lens(HookedTransformer(cfg))
    with pytest.raises(TypeError, match="HookedTransformer or a state dict"):
        I.from_transformer_lens([1, 2])
