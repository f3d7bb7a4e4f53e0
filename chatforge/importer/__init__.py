"""`chatforge import`: a Llama / Qwen3 GGUF file or Hugging Face folder -> a chatforge checkpoint.

gguf_read.py and hf_read.py read the two sources into one `weights.Read`; tokenizer.py turns the
model's byte-level BPE into our tiktoken files; convert.py writes the checkpoint folder and
records the model's chat format; cli.py is the command. The reverse of chatforge.export.
"""
