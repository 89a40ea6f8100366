"""End to end: the first training batch of a packed dataset has the loss of the same sequences
run one by one, through transformers' Trainer (our collator) and TRL's SFTTrainer (the seed's
settings), on the sdpa and eager attention paths. A guard shows that a 2-D attention_mask
(the default collator) mixes the sequences and changes the loss.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from hf_helpers import make_texts, tiny_llama, unpacked_loss
from seqpacker_hf import PackedDataCollator, pack_dataset

# flex_attention has no backward pass on CPU in torch 2.13, so it cannot train here.
ATTENTIONS = ["sdpa", "eager"]
CAPACITY = 64
REL_TOL = 1e-5


def recording(trainer_class, sequences: list[list[int]]):  # type: ignore[no-untyped-def]
    """``trainer_class`` that remembers the loss of its first training batch and, from the
    model as that batch sees it (a trainer may adjust the model when it starts), the loss of
    ``sequences`` run one by one."""

    class Recording(trainer_class):  # type: ignore[misc, valid-type]
        first_loss: float | None = None
        unpacked: float | None = None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[no-untyped-def]
            if self.unpacked is None:
                self.unpacked = unpacked_loss(model, sequences)
            loss = super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
            if self.first_loss is None:
                value = loss[0] if return_outputs else loss
                self.first_loss = float(value.detach())
            return loss

    return Recording


def training_args(args_class, tmp_path, batch_size: int, **extra):  # type: ignore[no-untyped-def]
    return args_class(
        output_dir=str(tmp_path),
        per_device_train_batch_size=batch_size,
        max_steps=1,
        learning_rate=1e-3,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
        **extra,
    )


@pytest.fixture(scope="module")
def sequences(tokenizer) -> list[list[int]]:  # type: ignore[no-untyped-def]
    return tokenizer(make_texts(), truncation=True, max_length=CAPACITY)["input_ids"]


def packed(sequences: list[list[int]], tokenizer):  # type: ignore[no-untyped-def]
    dataset = pack_dataset(sequences, CAPACITY, padding_value=tokenizer.pad_token_id)
    assert len(dataset) > 3  # several rows, several sequences per row
    return dataset


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_trainer_with_packed_collator_matches_unpacked(attention, sequences, tokenizer, tmp_path):  # type: ignore[no-untyped-def]
    from transformers import Trainer, TrainingArguments

    model = tiny_llama(len(tokenizer), attention)
    dataset = packed(sequences, tokenizer)
    trainer = recording(Trainer, sequences)(
        model=model,
        args=training_args(TrainingArguments, tmp_path, batch_size=len(dataset)),
        train_dataset=dataset,
        data_collator=PackedDataCollator(),
    )
    trainer.train()
    assert trainer.first_loss is not None
    assert math.isclose(trainer.first_loss, trainer.unpacked, rel_tol=REL_TOL), (
        trainer.first_loss,
        trainer.unpacked,
    )


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_sft_trainer_padding_free_matches_unpacked(attention, sequences, tokenizer, tmp_path):  # type: ignore[no-untyped-def]
    pytest.importorskip("trl")
    from trl import SFTConfig, SFTTrainer

    model = tiny_llama(len(tokenizer), attention)
    dataset = packed(sequences, tokenizer)
    trainer = recording(SFTTrainer, sequences)(
        model=model,
        train_dataset=dataset,
        args=training_args(
            SFTConfig,
            tmp_path,
            batch_size=len(dataset),
            dataset_text_field=None,
            padding_free=True,
            max_length=None,
        ),
        processing_class=tokenizer,
    )
    trainer.train()
    assert trainer.first_loss is not None
    assert math.isclose(trainer.first_loss, trainer.unpacked, rel_tol=REL_TOL), (
        trainer.first_loss,
        trainer.unpacked,
    )


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_guard_default_collator_with_2d_mask_mixes_sequences(
    attention, sequences, tokenizer, tmp_path
):  # type: ignore[no-untyped-def]
    """The same rows with their 2-D attention_mask: sequences see each other, the loss moves."""
    from transformers import Trainer, TrainingArguments, default_data_collator

    model = tiny_llama(len(tokenizer), attention)
    dataset = packed(sequences, tokenizer).remove_columns(["seq_lengths"])
    trainer = recording(Trainer, sequences)(
        model=model,
        args=training_args(TrainingArguments, tmp_path, batch_size=len(dataset)),
        train_dataset=dataset,
        data_collator=default_data_collator,
    )
    trainer.train()
    assert trainer.first_loss is not None
    assert not math.isclose(trainer.first_loss, trainer.unpacked, rel_tol=1e-3), (
        trainer.first_loss,
        trainer.unpacked,
    )
