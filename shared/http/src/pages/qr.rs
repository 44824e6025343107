//! QR codes drawn by the project (no outside service): inline SVG for pages.

use qrcode::QrCode;
use qrcode::render::svg;

/// An SVG QR code of `text`, one unit per module (scale it with CSS); `None` if too long.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .module_dimensions(1, 1)
        .quiet_zone(true)
        .build();
    // Inline in HTML: drop the XML declaration.
    Some(
        image
            .split_once("?>")
            .map_or(image.clone(), |(_, rest)| rest.to_owned()),
    )
}
