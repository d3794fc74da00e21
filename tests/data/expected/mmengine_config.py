optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.02, momentum=0.9))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type="MultiStepLR", by_epoch=False, begin=0, end=12000, milestones=[8000, 11000]),
]
train_cfg = dict(by_epoch=False, max_iters=12000)
