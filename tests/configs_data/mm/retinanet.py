_base_ = ['./_base_/schedule_1x.py']
# optimizer
base_lr = 0.01
optim_wrapper = dict(
    optimizer=dict(lr=base_lr * 2),
    accumulative_counts=2)
train_dataloader = dict(batch_size=2, num_workers=2, dataset=dict(type='CocoDataset'))
auto_scale_lr = dict(enable=False, base_batch_size=16)
