"""The saliency methods, one module a method: each defines ``METHOD``, a declaration from
``xaiexp.xai.kinds``, and ``xaiexp.xai.registry`` finds every module here without a list to
edit. Modules import no TensorFlow at import time, so the registry stays cheap to read."""
