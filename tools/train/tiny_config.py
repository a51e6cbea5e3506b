"""schwarm-tiny's config.json, in the field names published DeepSeek-V3 checkpoints use."""
SEQ_LEN = 256          # training context (and the perplexity n_ctx)


def tiny_config():
    return {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
        "attention_bias": False, "attention_dropout": 0.0, "aux_loss_alpha": 0.001,
        "bos_token_id": 0, "eos_token_id": 1, "ep_size": 1, "first_k_dense_replace": 1,
        "hidden_act": "silu", "hidden_size": 192, "initializer_range": 0.02,
        "intermediate_size": 512, "kv_lora_rank": 64, "max_position_embeddings": 4096,
        "moe_intermediate_size": 64, "moe_layer_freq": 1, "n_group": 4, "n_routed_experts": 16,
        "n_shared_experts": 1, "norm_topk_prob": True, "num_attention_heads": 4,
        "num_experts_per_tok": 4, "num_hidden_layers": 4, "num_key_value_heads": 4,
        "num_nextn_predict_layers": 0, "q_lora_rank": 128, "qk_nope_head_dim": 32,
        "qk_rope_head_dim": 32, "rms_norm_eps": 1e-06, "rope_scaling": None,
        "rope_theta": 10000.0, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid",
        "seq_aux": True, "tie_word_embeddings": False, "topk_group": 2, "topk_method": "noaux_tc",
        "torch_dtype": "bfloat16", "use_cache": True, "v_head_dim": 32, "vocab_size": 4096,
    }
