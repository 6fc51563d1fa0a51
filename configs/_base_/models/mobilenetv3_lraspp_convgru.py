# The per-frame model (./mobilenetv3_lraspp.py: MobileNetV3-small at output stride 32 and the LR-ASPP-style head)
# with ConvGRUs between its encoder and head (RVM's recurrent decoder idea) on part of the channels at strides 4,
# 8 and 32. The GRUs' in_channels and strides are measured from the backbone.
_base_ = "./mobilenetv3_lraspp.py"
model = dict(type="TemporalVideoSegmentor", temporal=dict(type="MultiScaleConvGRU", gru_channels=(8, 12, 24)))
