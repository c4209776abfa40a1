"""Occlusion (Zeiler & Fergus, 2014, https://arxiv.org/abs/1311.2901) as a column: the score
drop under patches of ``Settings.occlusion`` = (patch, stride) (``xaiexp/xai/patch_drops.py``)."""

from xaiexp.xai.kinds import Computed


def occlusion_maps(salnet, batch, settings):
    patch, stride = settings.occlusion
    return salnet.get_occlusion_masks(batch, patch=patch, stride=stride, raw=True)[salnet.outputs]


METHOD = Computed(name="occlusion", title="Occlusion {}", order=80, heavy=True,
                  compute=occlusion_maps)
