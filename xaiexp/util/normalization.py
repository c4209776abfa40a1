"""The default normalization of images: FastEstimator's ``Normalize`` defaults, and what a dataset
is normalized with unless its config says otherwise. ImageNet's per-channel mean and standard
deviation of RGB pixels in [0, 1], and the largest value of the uint8 pixels they are scaled to."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_PIXEL_VALUE = 255.0
