use super::*;
use crate::registry::parse_params;
use serde_json::json;

#[test]
fn params_defaults() {
    let p: WhisperParams = parse_params(&json!({"model": "m.bin"})).unwrap();
    assert_eq!(p.language, "en");
    assert_eq!(p.strategy, Strategy::Greedy);
    assert_eq!((p.beam_size, p.threads, p.flash_attn), (5, 1, true));
    assert_eq!(p.audio_ctx, 0, "the model's full context");
}

#[test]
fn audio_ctx_is_0_or_at_most_1500_frames() {
    let parse = |v| parse_params::<WhisperParams>(&json!({"model": "m", "audio_ctx": v}));
    assert_eq!(parse(json!(150)).unwrap().audio_ctx, 150);
    assert_eq!(parse(json!(1500)).unwrap().audio_ctx, 1500);
    assert_eq!(parse(json!(0)).unwrap().audio_ctx, 0);
    let e = parse(json!(1501)).unwrap_err();
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        (
            "audio_ctx",
            "must be 0 (the model's full context) or from 1 to 1500 frames of 20 ms, got 1501"
        )
    );
    let e = parse(json!(-1)).unwrap_err();
    assert_eq!(e.path, "audio_ctx");
    assert!(e.message.contains("non-negative integer"), "{}", e.message);
    assert_eq!(parse(json!(1.5)).unwrap_err().path, "audio_ctx");
}

#[test]
fn params_errors() {
    let err = |v| parse_params::<WhisperParams>(&v).unwrap_err();
    let e = err(json!({}));
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("", "missing field `model`")
    );
    let e = err(json!({"model": ""}));
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("model", "must not be empty")
    );
    let e = err(json!({"model": "m", "language": "xx"}));
    assert_eq!(e.path, "language");
    assert!(
        e.message.starts_with("unknown language 'xx'"),
        "{}",
        e.message
    );
    let e = err(json!({"model": "m", "strategy": "sampling"}));
    assert_eq!(e.path, "strategy");
    assert!(
        e.message.contains("unknown variant `sampling`"),
        "{}",
        e.message
    );
    let e = err(json!({"model": "m", "beam_size": 0}));
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("beam_size", "must be from 1 to 16, got 0")
    );
    let e = err(json!({"model": "m", "threads": 65}));
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("threads", "must be from 1 to 64, got 65")
    );
    let e = err(json!({"model": "m", "threads": 1.5}));
    assert_eq!(e.path, "threads");
    let e = err(json!({"model": "m", "beams": 2}));
    assert!(
        e.message.starts_with("unknown field `beams`"),
        "{}",
        e.message
    );
}

#[test]
fn languages_come_from_whisper() {
    let langs = known_languages();
    assert_eq!(langs.first(), Some(&"en"));
    assert!(langs.contains(&"de") && langs.contains(&"ja"), "{langs:?}");
    assert!(parse_params::<WhisperParams>(&json!({"model": "m", "language": "auto"})).is_ok());
    assert!(parse_params::<WhisperParams>(&json!({"model": "m", "language": "de"})).is_ok());
}

#[test]
fn abi_matches_the_linked_library() {
    check_abi().unwrap();
}

#[test]
fn missing_model_and_bad_input_are_clear_errors() {
    let ctx = NodeContext::default();
    let p = |m: &str| parse_params::<WhisperParams>(&json!({"model": m})).unwrap();
    let e = WhisperNode::new(&ctx, p("no/such/model.bin"))
        .err()
        .unwrap();
    assert_eq!(e, "cannot read model 'no/such/model.bin': file not found");
    let e = WhisperNode::new(&ctx, p(".")).err().unwrap();
    assert_eq!(e, "model '.' is a directory, not a file");

    // The model is loaded when the node is built: a bad one fails there.
    let dir = std::env::temp_dir().join(format!("whisper-node-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bogus = dir.join("bogus.bin");
    std::fs::write(&bogus, b"this is not a ggml model").unwrap();
    let e = WhisperNode::new(&ctx, p(bogus.to_str().unwrap()))
        .err()
        .unwrap();
    assert!(
        e.starts_with(&format!(
            "cannot load whisper model '{}': ",
            bogus.display()
        )),
        "{e}"
    );
    assert!(e.ends_with(": not a whisper ggml model (bad magic)"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();

    // Wrong input types and rates are refused before whisper.cpp runs.
    let e = mono_input(vec![Value::Int(3)]).unwrap_err();
    assert_eq!(e, "Whisper expects audio, got int");
    let a = AudioBuffer::new(vec![0.0; 441], 44100, 1).unwrap();
    let e = mono_input(vec![Value::Audio(a)]).unwrap_err();
    assert!(
        e.starts_with("Whisper needs 16000 Hz audio, got 44100 Hz: put a Resample node"),
        "{e}"
    );
    let a = AudioBuffer::new(vec![], 16000, 1).unwrap();
    assert_eq!(
        mono_input(vec![Value::Audio(a)]).unwrap_err(),
        "Whisper got empty audio (0 samples)"
    );
    let a = AudioBuffer::new(vec![0.5, f32::NAN], 16000, 1).unwrap();
    assert_eq!(
        mono_input(vec![Value::Audio(a)]).unwrap_err(),
        "Whisper got audio with NaN or infinite samples"
    );
}

#[test]
fn downmix_averages_channels() {
    let a = AudioBuffer::new(vec![1.0, 0.0, -0.5, 0.5], 16000, 2).unwrap();
    assert_eq!(downmix(&a), vec![0.5, 0.0]);
}
