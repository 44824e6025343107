//! QR codes of links, for the CLI's `mcamp qr` and the MCS store posters.

use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode};

/// A link's QR code. Level M survives a smudge or a logo over ~15% of the code.
pub fn qr_code(link: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(link, EcLevel::M)
}
