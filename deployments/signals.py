from django.dispatch import Signal

# Sent on commit once a rollback has been executed and verified: receivers get deployment_id.
deployment_rolled_back = Signal()
