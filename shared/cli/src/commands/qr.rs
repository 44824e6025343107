//! `mcamp qr LINK [--png FILE | --svg FILE]`: a QR code for posters, receipts and tables.

use std::path::PathBuf;

use clap::Args;
use mcamp_ops::qr::qr_code;
use qrcode::QrCode;
use qrcode::render::svg;

use crate::Global;
use crate::failure::Failure;
use crate::output;
use crate::say;

#[derive(Args)]
pub struct QrArgs {
    /// The link, e.g. https://go.brand.kr/AbCdEfGhIj.
    link: String,
    /// Write a PNG here.
    #[arg(long, value_name = "FILE", conflicts_with = "svg")]
    png: Option<PathBuf>,
    /// Write an SVG here.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

/// Smallest side of the drawing, in pixels: prints sharp on A4 at a few centimetres.
const MIN_PIXELS: u32 = 480;

pub fn run(g: &Global, a: &QrArgs) -> Result<(), Failure> {
    let link = a.link.trim();
    if !(link.starts_with("https://") || link.starts_with("http://")) {
        return Err(Failure::user(format!(
            "'{link}' is not a link: it must start with https://"
        )));
    }
    let code = qr_code(link).map_err(|e| Failure::user(format!("cannot draw a QR code of '{link}': {e}")))?;
    let svg = || {
        code.render::<svg::Color<'_>>()
            .min_dimensions(MIN_PIXELS, MIN_PIXELS)
            .quiet_zone(true)
            .build()
    };
    let (written, format) = match (&a.png, &a.svg) {
        (Some(path), _) => {
            png_of(&code, path)?;
            (path, "png")
        }
        (None, Some(path)) => {
            output::write_file(path, svg().as_bytes())?;
            (path, "svg")
        }
        (None, None) => {
            say!("{}", svg());
            return Ok(());
        }
    };
    if g.json {
        return output::json(&serde_json::json!({
            "link": link, "file": written.display().to_string(), "format": format,
            "modules": code.width(),
        }));
    }
    say!(
        "wrote {} ({format}, {} x {} modules, error correction M) for {link}",
        written.display(),
        code.width(),
        code.width()
    );
    Ok(())
}

fn png_of(code: &QrCode, path: &std::path::Path) -> Result<(), Failure> {
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(MIN_PIXELS, MIN_PIXELS)
        .quiet_zone(true)
        .build();
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Failure::user(format!("encoding the PNG: {e}")))?;
    output::write_file(path, bytes.get_ref())
}
