//! Properties over any input: the result is either an exposition the text
//! format accepts (UTF-8, one HELP and TYPE per name, each name's samples
//! together, no duplicate series, correct escaping) or an error whose line
//! number lies inside the input (or just after it); never a panic.

use parser_wasm::{Dump, Family, render_dumps};
use proptest::prelude::*;
use std::collections::HashSet;

/// Checks an exposition the way a strict text-format reader would.
fn check_exposition(text: &str) -> Result<(), String> {
    let mut described: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut series: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            if !matches!(kind, "HELP" | "TYPE") {
                return Err(format!("unknown comment: {line}"));
            }
            if kind == "HELP" && !described.insert(name.to_owned()) {
                return Err(format!("second HELP for {name}"));
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| format!("no value: {line}"))?;
        let name = &line[..name_end];
        if !described.contains(name) {
            return Err(format!("sample before HELP: {line}"));
        }
        if current.as_deref() != Some(name) {
            if let Some(previous) = current.replace(name.to_owned()) {
                finished.insert(previous);
            }
            if finished.contains(name) {
                return Err(format!("samples of {name} are not together"));
            }
        }
        let (labels, value) = match line[name_end..].strip_prefix('{') {
            Some(rest) => {
                let end = label_block_end(rest).ok_or_else(|| format!("bad labels: {line}"))?;
                (&rest[..end], rest[end + 1..].trim_start())
            }
            None => ("", line[name_end..].trim_start()),
        };
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("bad value: {line}"));
        }
        if !series.insert(format!("{name}{{{labels}}}")) {
            return Err(format!("duplicate series: {line}"));
        }
    }
    Ok(())
}

/// Index of the `}` closing a label block, following quotes and the three
/// escapes the format allows.
fn label_block_end(rest: &str) -> Option<usize> {
    let mut in_value = false;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match (in_value, c) {
            (true, '\\') => match chars.next()?.1 {
                '\\' | '"' | 'n' => {}
                _ => return None,
            },
            (true, '"') => in_value = false,
            (true, '\n') => return None,
            (false, '"') => in_value = true,
            (false, '}') => return Some(i),
            _ => {}
        }
    }
    None
}

fn line_count(input: &[u8]) -> usize {
    parser_wasm::lines::Lines::new(input).count()
}

/// Bytes of a rule's text: anything but line ends, with quotes, escapes,
/// `-c`, `!` and non-UTF-8 bytes likely.
fn rule_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"-j ACCEPT".to_vec()),
        Just(b"! -s 10.0.0.0/8".to_vec()),
        Just(b"-m comment --comment \"a  \\\" b\"".to_vec()),
        Just(b"-c 1 2".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b" ".to_vec()),
        proptest::collection::vec(
            any::<u8>().prop_filter("no line end", |b| *b != b'\n' && *b != b'\r'),
            0..8
        ),
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|pieces| pieces.join(&b' '))
}

fn chain_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"INPUT".to_vec()),
        Just(b"FORWARD".to_vec()),
        Just(b"GOOD~STUFF".to_vec()),
        Just(b"caf\xe9".to_vec()),
        proptest::collection::vec(
            any::<u8>().prop_filter("a name", |b| !b" \r\n".contains(b)),
            1..6
        ),
    ]
}

/// One table: `*TABLE`, chain declarations, rules, `COMMIT`.
fn table() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let declaration = (
        chain_name(),
        prop_oneof![Just("ACCEPT"), Just("DROP"), Just("-")],
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(name, policy, p, b, counted)| {
            let counters = if counted {
                format!(" [{p}:{b}]")
            } else {
                String::new()
            };
            [b":", &name[..], format!(" {policy}{counters}").as_bytes()].concat()
        });
    let rule = (
        chain_name(),
        rule_text(),
        any::<u64>(),
        any::<u64>(),
        0..3u8,
    )
        .prop_map(|(chain, spec, p, b, form)| {
            let prefix = match form {
                0 => format!("[{p}:{b}] -A "),
                _ => "-A ".to_owned(),
            };
            [prefix.as_bytes(), &chain[..], b" ", &spec[..]].concat()
        });
    (
        prop_oneof![Just("filter"), Just("nat"), Just("raw")],
        proptest::collection::vec(declaration, 0..5),
        proptest::collection::vec(rule, 0..10),
    )
        .prop_map(|(name, declarations, rules)| {
            let mut lines = vec![format!("*{name}").into_bytes()];
            lines.extend(declarations);
            lines.extend(rules);
            lines.push(b"COMMIT".to_vec());
            lines
        })
}

/// Tables with, now and then, a comment, an empty line or a random line.
fn save_like_input() -> impl Strategy<Value = Vec<u8>> {
    let block = prop_oneof![
        8 => table(),
        1 => Just(vec![b"# Generated by iptables-save".to_vec(), Vec::new()]),
        1 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(|junk| vec![junk]),
    ];
    (
        proptest::collection::vec(block, 0..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(blocks, crlf, final_newline)| {
            let separator: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let lines: Vec<Vec<u8>> = blocks.into_iter().flatten().collect();
            let mut input = lines.join(separator);
            if final_newline && !input.is_empty() {
                input.extend_from_slice(separator);
            }
            input
        })
}

fn check(input: &[u8]) -> Result<(), TestCaseError> {
    let rendering = render_dumps(&[Dump {
        family: Family::Ipv4,
        save_output: input,
    }]);
    match &rendering.results[0] {
        Ok(_) => check_exposition(&rendering.exposition).map_err(TestCaseError::fail),
        Err(err) => {
            let lines = line_count(input);
            prop_assert!(
                err.line >= 1 && err.line <= lines + 1,
                "line {} outside 1..={}",
                err.line,
                lines + 1
            );
            let prefix = format!("line {}: ", err.line);
            prop_assert!(
                err.to_string().starts_with(&prefix),
                "message without its line: {}",
                err
            );
            prop_assert_eq!(&rendering.exposition, "", "text rendered for a failed dump");
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_give_a_valid_exposition_or_an_error_inside_the_input(input in proptest::collection::vec(any::<u8>(), 0..2000)) {
        check(&input)?;
    }

    #[test]
    fn save_like_lines_give_a_valid_exposition_or_an_error_inside_the_input(input in save_like_input()) {
        check(&input)?;
    }
}

#[test]
fn the_checker_rejects_what_it_should() {
    let help = "# HELP a x\n# TYPE a counter\n";
    assert!(
        check_exposition(&format!("{help}a{{l=\"1\"}} 1\na{{l=\"1\"}} 2\n")).is_err(),
        "duplicate"
    );
    assert!(
        check_exposition(&format!("{help}# HELP b y\na 1\nb 1\na 2\n")).is_err(),
        "not together"
    );
    assert!(
        check_exposition(&format!("{help}a{{l=\"\\x\"}} 1\n")).is_err(),
        "bad escape"
    );
    assert!(check_exposition("a 1\n").is_err(), "no HELP");
    assert!(check_exposition(&format!("{help}a{{l=\"1\"}} 1\na{{l=\"2\"}} 2\n")).is_ok());
}

#[test]
fn valid_inputs_are_common_in_the_save_like_strategy() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = save_like_input();
    let valid = (0..500)
        .filter(|_| {
            let input = strategy.new_tree(&mut runner).expect("value").current();
            render_dumps(&[Dump {
                family: Family::Ipv4,
                save_output: &input,
            }])
            .results[0]
                .as_ref()
                .is_ok_and(|stats| stats.rules > 0)
        })
        .count();
    assert!(
        valid >= 100,
        "only {valid} of 500 generated inputs were valid with rules"
    );
}
