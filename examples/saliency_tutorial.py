"""FastEstimator's saliency tutorial, ported to xaiexp: only the package name changed.

    python examples/saliency_tutorial.py

Needs CIFAR-10 in Keras' cache (downloaded on first use; offline, see README "Datasets").
The figures go to ./saliency_figures/ (ImageSaver) and the notebook viewer (ImageViewer).
"""

import tempfile
import os

import xaiexp as fe
from xaiexp.architecture.tensorflow import LeNet
from xaiexp.backend import squeeze, to_number
from xaiexp.dataset.data import cifar10
from xaiexp.op.numpyop.univariate import Normalize
from xaiexp.op.tensorop.loss import CrossEntropy
from xaiexp.op.tensorop.model import ModelOp, UpdateOp
from xaiexp.schedule import cosine_decay
from xaiexp.trace.adapt import LRScheduler
from xaiexp.trace.io import BestModelSaver, ImageSaver, ImageViewer, TensorBoard  # noqa: F401 (as the tutorial)
from xaiexp.trace.metric import Accuracy
from xaiexp.trace.xai import Saliency
import matplotlib.pyplot as plt
import numpy as np

label_mapping = {
    'airplane': 0,
    'automobile': 1,
    'bird': 2,
    'cat': 3,
    'deer': 4,
    'dog': 5,
    'frog': 6,
    'horse': 7,
    'ship': 8,
    'truck': 9
}
batch_size = 32

train_data, eval_data = cifar10.load_data()
test_data = eval_data.split(0.5)

pipeline = fe.Pipeline(
    train_data=train_data,
    eval_data=eval_data,
    test_data=test_data,
    batch_size=batch_size,
    ops=[Normalize(inputs="x", outputs="x")],
    num_process=0)

model = fe.build(model_fn=lambda: LeNet(input_shape=(32, 32, 3)), optimizer_fn="adam")
network = fe.Network(ops=[
    ModelOp(model=model, inputs="x", outputs="y_pred"),
    CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
    UpdateOp(model=model, loss_name="ce")
])

traces = [
    Accuracy(true_key="y", pred_key="y_pred"),
    LRScheduler(model=model, lr_fn=lambda step: cosine_decay(step, cycle_length=3750, init_lr=1e-3)),
    Saliency(model=model,
             model_inputs="x",
             class_key="y",
             model_outputs="y_pred",
             samples=5,
             label_mapping=label_mapping),
    ImageViewer(inputs="saliency"),
    ImageSaver(inputs="saliency", save_dir="saliency_figures"),
]
estimator = fe.Estimator(pipeline=pipeline,
                         network=network,
                         epochs=5,
                         traces=traces,
                         log_steps=1000)
estimator.fit()
estimator.test()

# Saliency maps without traces
pipeline.batch_size = 6
batch = pipeline.get_results()
batch = fe.backend.to_tensor(batch, "tf")  # Convert the batch to TensorFlow
saliency_generator = fe.xai.SaliencyNet(model=model, model_inputs="x", model_outputs="y_pred")
images = saliency_generator.get_masks(batch=batch)

# Convert 'y' and 'y_pred' from numeric values to strings for readability
val_to_label = {val: key for key, val in label_mapping.items()}
y = np.array([val_to_label[clazz] for clazz in to_number(squeeze(batch["y"]))])
y_pred = np.array([val_to_label[clazz] for clazz in to_number(squeeze(images["y_pred"]))])

# Now simply load up an ImgData object and let it handle laying out the final result for you
save_dir = tempfile.mkdtemp()
images = fe.util.ImgData(colormap="inferno", y=y, y_pred=y_pred, x=batch["x"], saliency=images["saliency"])
fig = images.paint_figure(save_path=os.path.join(save_dir, "t08a_saliency.png"))
print(f"saved {os.path.join(save_dir, 't08a_saliency.png')}")
plt.show()
