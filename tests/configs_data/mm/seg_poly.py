# an mmseg/mmpretrain-style schedule: warmup and cosine converted to iterations, then a
# polynomial tail stepped per epoch
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.01, by_epoch=True, begin=2, end=6,
         convert_to_iter_based=True),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=6, end=8, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=8)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
train_dataloader = dict(batch_size=4)
