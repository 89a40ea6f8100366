"""Fine-tune a causal LM on packed sequences with TRL's SFTTrainer (or transformers' Trainer).

    python examples/sft_trainer.py                       # CPU, tiny model, in-script data, < 1 min
    python examples/sft_trainer.py --trainer trainer     # transformers.Trainer + PackedDataCollator
    python examples/sft_trainer.py --model HF_MODEL --dataset DATASET --capacity 2048 \\
        --max-steps 1000 --batch-size 8                  # real use (downloads the model/data)

With no --model, a tiny LlamaForCausalLM is built from a config and a word-level tokenizer is
trained in memory on the data, so nothing is downloaded. --dataset takes a Hub name or a local
.jsonl/.json/.parquet/.txt file; --text-column names its text column (default: text).

The settings that keep packed sequences apart (docs/huggingface.md says why):
  SFTTrainer: SFTConfig(dataset_text_field=None, padding_free=True, max_length=None); the packed
              dataset's seq_lengths column gives position_ids and the varlen boundaries, and no
              2-D attention_mask is built.
  Trainer:    data_collator=PackedDataCollator() (position_ids, cu_seq_lens_*, no 2-D mask).
"""

from __future__ import annotations

import argparse
import sys
import tempfile

TINY_CORPUS = [
    "the cat sat on the mat and looked at the bird in the tree",
    "a dog ran along the river in the morning",
    "the quick brown fox jumps over the lazy dog",
    "birds sing softly in the tall trees at dawn",
    "the sun rises over the quiet village every morning",
    "a small boat drifts slowly down the wide river",
    "the moon shines on the cold lake at night",
    "children play in the park after school",
    "the old house stands alone at the end of the road",
    "rain falls gently on the green fields",
    "the baker makes fresh bread before the sun comes up",
    "a red kite flies high above the hill",
    "the train leaves the station at nine in the morning",
    "snow covers the mountains in the long winter",
    "the farmer feeds the cows and the hens",
    "a cup of tea waits on the kitchen table",
    "the library is quiet in the afternoon",
    "waves break on the rocks by the shore",
    "the cat sleeps by the warm fire at night",
    "a gentle wind moves the leaves of the old tree",
] * 4


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Hub name or path of a causal LM (default: tiny, local)")
    parser.add_argument("--dataset", help="Hub dataset or .jsonl/.json/.parquet/.txt file")
    parser.add_argument("--text-column", default="text", help="text column (default: text)")
    parser.add_argument("--split", default="train", help="dataset split (default: train)")
    parser.add_argument("--capacity", type=int, default=128, help="tokens per packed row")
    parser.add_argument("--max-steps", type=int, default=30, help="optimizer steps")
    parser.add_argument("--batch-size", type=int, default=4, help="packed rows per step")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument(
        "--attention", default="sdpa", help="attn_implementation: sdpa, eager, flash_attention_2"
    )
    parser.add_argument("--trainer", choices=["sft", "trainer"], default="sft")
    parser.add_argument("--output-dir", default=None, help="default: a temporary folder")
    return parser.parse_args(argv)


def load_texts(args: argparse.Namespace) -> list[str]:
    if args.dataset is None:
        return TINY_CORPUS
    import datasets

    path = args.dataset
    readers = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".txt": "text"}
    suffix = next((s for s in readers if path.endswith(s)), None)
    if suffix:
        loaded = datasets.load_dataset(readers[suffix], data_files=path, split=args.split)
    else:
        loaded = datasets.load_dataset(path, split=args.split)
    if args.text_column not in loaded.column_names:
        sys.exit(f"{path} has no column {args.text_column!r}; columns: {loaded.column_names}")
    return [text for text in loaded[args.text_column] if text]


def tiny_tokenizer(texts: list[str]):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.train_from_iterator(
        texts, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[EOS]"])
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]"
    )


def tiny_model(vocab_size: int, attention: str):  # type: ignore[no-untyped-def]
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        use_cache=False,
        attn_implementation=attention,
    )
    return LlamaForCausalLM(config)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from seqpacker_hf import PackedDataCollator, pack_dataset

    texts = load_texts(args)
    if args.model is None:
        tokenizer = tiny_tokenizer(texts)
        model = tiny_model(len(tokenizer), args.attention)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model)
        model = AutoModelForCausalLM.from_pretrained(args.model, attn_implementation=args.attention)
        model.config.use_cache = False

    # Each text ends with EOS so the model learns where a document stops; sequences longer than
    # a row are split into row-sized pieces (reported in a warning).
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    token_ids = [ids + eos for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    padding_value = tokenizer.pad_token_id
    if padding_value is None:
        padding_value = tokenizer.eos_token_id or 0
    dataset = pack_dataset(token_ids, args.capacity, padding_value=padding_value, overflow="split")
    tokens = sum(len(ids) for ids in token_ids)
    print(
        f"packed {len(token_ids)} sequences ({tokens} tokens) into {len(dataset)} rows of "
        f"{args.capacity} ({tokens / (len(dataset) * args.capacity):.1%} filled)"
    )

    import torch

    output_dir = args.output_dir or tempfile.mkdtemp(prefix="seqpacker-sft-")
    on_gpu = torch.cuda.is_available()
    common = {
        "use_cpu": not on_gpu,
        "bf16": on_gpu and torch.cuda.is_bf16_supported(),
        "output_dir": output_dir,
        "per_device_train_batch_size": args.batch_size,
        "max_steps": args.max_steps,
        "learning_rate": args.learning_rate,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "seed": 0,
    }
    if args.trainer == "sft":
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model=model,
            train_dataset=dataset,
            args=SFTConfig(**common, dataset_text_field=None, padding_free=True, max_length=None),
            processing_class=tokenizer,
        )
    else:
        from transformers import Trainer, TrainingArguments

        trainer = Trainer(
            model=model,
            train_dataset=dataset,
            args=TrainingArguments(**common),
            data_collator=PackedDataCollator(),
        )
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    first, last = losses[0], sum(losses[-3:]) / len(losses[-3:])
    print(f"loss: first step {first:.3f}, mean of the last 3 steps {last:.3f}")
    if args.model is None and not last < first:
        print("the loss did not decrease", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
