"""Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391) as a column: the class
activation map of the last feature layer (``xaiexp/xai/class_activation.py``), resized to the input."""

from xaiexp.xai.kinds import Computed


def grad_cam_maps(salnet, batch, settings):
    return salnet.get_gradcam_masks(batch, raw=True)[salnet.outputs]


METHOD = Computed(name="gradcam", title="GradCAM {}", order=70, compute=grad_cam_maps)
