# mmdet's 1x schedule as its configs write it: a linear warmup over the first 500
# iterations beside the epoch-based drops (mmdet/configs/_base_/schedules/schedule_1x.py)
_base_ = ['./_base_/schedule_1x.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
optim_wrapper = dict(accumulative_counts=2)
train_dataloader = dict(batch_size=2)
