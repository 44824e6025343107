//! The store staff's redeem page in the console is rendered by the console; its one script
//! lives here so the page's CSP can allow it by hash with the others.

/// Camera scanning where the browser has a `BarcodeDetector`: shows the hidden `#scan` button,
/// which opens the rear camera in `#cam`, reads the coupon's QR code (what the recipient's
/// screen shows, the code as text) or a Code 128 barcode (printed coupons), puts it in the
/// `code` field of `#look` and submits it. Without the API, or without a camera, typing the
/// code is the way and nothing is shown.
pub const SCRIPT: &str = r#"(function(){var d=document,b=d.getElementById('scan'),v=d.getElementById('cam'),f=d.getElementById('look');
if(!b||!v||!f||!('BarcodeDetector' in window)||!navigator.mediaDevices)return;b.hidden=false;
b.addEventListener('click',function(){var x;try{x=new BarcodeDetector({formats:['qr_code','code_128']})}catch(e){return}
navigator.mediaDevices.getUserMedia({video:{facingMode:'environment'}}).then(function(s){v.srcObject=s;v.hidden=false;b.hidden=true;v.play();
function t(){x.detect(v).then(function(c){if(c.length&&c[0].rawValue){s.getTracks().forEach(function(k){k.stop()});f.elements.code.value=c[0].rawValue;f.submit()}else setTimeout(t,250)},function(){setTimeout(t,500)})}t()},
function(){b.textContent='카메라를 열 수 없어요. 번호를 입력해 주세요.';b.disabled=true})})})();"#;

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_stays_small() {
        assert!(super::SCRIPT.len() < 1536, "{} bytes", super::SCRIPT.len());
    }
}
