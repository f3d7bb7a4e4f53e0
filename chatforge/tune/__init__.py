"""The post-training floor: what every stage that fine-tunes a chat model shares.

    settings.FinetuneSettings   the training fields of [sft], [probe], [rl], [rm], [distill]
    finetune.finetune           conversations -> packed rows -> the training core, with a
                                validation loss, checkpoints and exact resume
    pack.pack / RowBatches      packing rendered conversations into rows, assistant-only mask
    reading.ReadingRows ...     copy exercises that keep a model reading its context
    load.load_chat_stage        the chat model a stage starts from
    split.split_val             a mixture's train/validation split
"""
