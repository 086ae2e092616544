//! Renders a dump natively, for profiling: `cargo run --release -p parser-wasm --example render_file -- FILE [REPEAT]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: render_file FILE [REPEAT]")?;
    let repeat: usize = args.next().map_or(Ok(1), |r| r.parse())?;
    let input = std::fs::read(path)?;
    let mut total = 0;
    for _ in 0..repeat {
        let rendering =
            parser_wasm::render_dumps(&[parser_wasm::Dump::new(parser_wasm::Family::Ipv4, &input)]);
        total += rendering.exposition.len();
    }
    println!("{total} bytes");
    Ok(())
}
