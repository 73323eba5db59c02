from ._channels import send
from ._delivery import DELIVERY_LOG, Delivery, DeliveryReport, deliver, failed_deliveries
from ._errors import ChannelError, NotifyError
from ._formats import FAILURE_DETAIL_MAX_CHARS, execution_status_notice, status_notice

__all__ = ["ChannelError", "DELIVERY_LOG", "Delivery", "DeliveryReport", "FAILURE_DETAIL_MAX_CHARS",
           "NotifyError", "deliver", "execution_status_notice", "failed_deliveries", "send", "status_notice"]
