"""The one training core shared by pretraining, SFT, RL, reward models and distillation.

    optim.build_optimizer(model, OptimConfig)   AdamW, or Muon for hidden matrices + AdamW
    schedule.lr_multiplier(step, total, ...)    warmup -> flat -> decay
    loop.Trainer(model, optimizer, batches, loss_fn, LoopConfig, ...).resume() / .fit()
    checkpoint.save_checkpoint / load_checkpoint / load_model
    dist.setup(device) / teardown()             torchrun data parallel (gloo / NCCL)
    mfu.matmul_peak(device, dtype, cache)       measured peak for MFU
"""
