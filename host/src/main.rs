mod sandbox;
fn main() {
    let s = sandbox::Sandbox::new(
        sandbox::EMBEDDED_COMPONENT,
        sandbox::Limits {
            max_memory_bytes: 512 << 20,
            deadline: std::time::Duration::from_secs(5),
        },
    )
    .unwrap();
    let input = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let t = std::time::Instant::now();
    let r = s
        .render(vec![sandbox::Dump {
            family: parser_wasm::Family::Ipv4,
            save_output: input,
        }])
        .unwrap();
    eprintln!("{:?} {:?}", t.elapsed(), r.results);
    print!("{}", r.exposition);
}
