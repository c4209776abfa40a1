"""The names a config picks the backend's behaviour by, each with what it is for: read here,
without TensorFlow, by config validation; ``distribute.get_strategy`` and
``precision.dtype_policy`` act on them."""

# Data-parallel strategies (tf.distribute)
STRATEGIES = {
    "none": "one device",
    "mirrored": "data-parallel over the GPUs (else the logical CPUs) of this machine",
    "multi_worker": "data-parallel over the machines described by $TF_CONFIG",
}

# Keras dtype policies (README "GPU machines"): mixed ones compute in 16 bits, keep float32
# weights and a float32 final layer, so saliency maps and scores stay float32.
PRECISIONS = {
    "float32": "full precision",
    "mixed_float16": "NVIDIA GPUs with tensor cores (compute capability >= 7)",
    "mixed_bfloat16": "TPUs, NVIDIA Ampere and newer, CPUs with AMX/AVX512-BF16",
}
